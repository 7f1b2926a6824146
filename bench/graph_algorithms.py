"""Hand-written graph algorithms beside networkx's (docs/architecture.md, "Graph algorithms").

Three places run a graph algorithm; each is timed against the networkx
routine that would replace it, on the same input:

1. topological order: ``Graph.validate`` checks in one pass over the node
   list that every operand is defined before it is read, against building
   ``graph.nx`` and ``networkx.is_directed_acyclic_graph`` +
   ``topological_sort`` (framework-free graph of ``--nodes`` nodes);
2. MCU execution order: ``planner.search_order`` (dynamic programming over
   the sets of executed steps) against enumerating
   ``networkx.all_topological_sorts`` to find the order of least peak
   memory, on ``b`` parallel branches of ``k`` steps;
3. ``compare``'s alignment: ``difflib.SequenceMatcher`` over layer
   signatures against ``networkx.optimize_graph_edit_distance`` (its first,
   not even optimal, answer) on two layer chains.

    .venv/bin/python bench/graph_algorithms.py [--nodes 100000] [--timeout 20]
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import networkx as nx  # noqa: E402

from analyzer.plugins.hardware.planner import Buffer, search_order  # noqa: E402


def _time(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def topological(nodes: int) -> None:
    from scale import build_graph  # bench/scale.py

    g = build_graph(nodes)
    t_validate, _ = _time(g.validate)
    t_build, view = _time(lambda: g.nx)
    t_dag, ok = _time(lambda: nx.is_directed_acyclic_graph(view))
    t_sort, order = _time(lambda: list(nx.topological_sort(view)))
    print(f"1. topological order, {len(g):,} nodes: validate() {t_validate:.2f} s (every check included); "
          f"networkx: build graph.nx {t_build:.2f} s + is_directed_acyclic_graph {t_dag:.2f} s + "
          f"topological_sort {t_sort:.2f} s = {t_build + t_dag + t_sort:.2f} s (acyclic: {ok})")  # fmt: skip


def _branches(b: int, k: int) -> tuple[list[Buffer], int]:
    """Step 0 (the stem), ``b`` branches of ``k`` steps each reading the stem, a join step reading
    every branch's last output; outputs grow along each branch, so the order matters."""
    join = 1 + b * k
    buffers = [
        Buffer("x", 16, None, frozenset({0})),
        Buffer("stem", 64, 0, frozenset(1 + i * k for i in range(b))),
    ]
    for i in range(b):
        for j in range(k):
            step = 1 + i * k + j
            reader = join if j == k - 1 else step + 1
            buffers.append(Buffer(f"b{i}_{j}", 16 * (j + 1) * (i + 1), step, frozenset({reader})))
    buffers.append(Buffer("out", 16, join, frozenset(), output=True))
    return buffers, join + 1


def _peak(buffers: list[Buffer], order: list[int]) -> int:
    pos = {s: p for p, s in enumerate(order)}
    live = [0] * len(order)
    for x in buffers:
        first = pos[x.producer] if x.producer is not None else 0
        last = len(order) - 1 if x.output else max((pos[c] for c in x.consumers), default=first)
        for p in range(first, last + 1):
            live[p] += x.size
    return max(live)


def execution_order(b: int, k: int, timeout: float) -> None:
    buffers, n = _branches(b, k)
    deps: list[set[int]] = [set() for _ in range(n)]
    dag = nx.DiGraph()
    dag.add_nodes_from(range(n))
    for x in buffers:
        for c in x.consumers:
            if x.producer is not None:
                deps[c].add(x.producer)
                dag.add_edge(x.producer, c)
    t_dp, (order, exact) = _time(lambda: search_order(buffers, n, deps, 20000))
    t = time.perf_counter()
    best, count, done = None, 0, True
    for candidate in nx.all_topological_sorts(dag):
        count += 1
        peak = _peak(buffers, candidate)
        best = peak if best is None else min(best, peak)
        if time.perf_counter() - t > timeout:
            done = False
            break
    t_nx = time.perf_counter() - t
    states = (k + 1) ** b
    print(f"2. MCU order, {b} branches x {k} steps ({n} steps): DP {t_dp * 1e3:.1f} ms over <= {states:,} sets "
          f"(peak {_peak(buffers, order)}, exact {exact}); networkx.all_topological_sorts: {count:,} orders "
          f"in {t_nx:.1f} s{'' if done else f' (stopped; {_multinomial(b, k):,} orders in all)'} "
          f"(best peak seen {best})")  # fmt: skip


def _multinomial(b: int, k: int) -> int:
    from math import factorial

    return factorial(b * k) // factorial(k) ** b


def alignment(n: int, timeout: float) -> None:
    ops = ["conv", "batch_norm", "relu"]
    a = [(op, i % 7) for i, op in zip(range(n), itertools.cycle(ops), strict=False)]
    other = a[:5] + [("add", 0)] + a[5:]  # one extra layer
    t_dl, _ = _time(lambda: difflib.SequenceMatcher(a=a, b=other, autojunk=False).get_opcodes())
    ga, gb = (
        nx.path_graph(len(a), create_using=nx.DiGraph),
        nx.path_graph(len(other), create_using=nx.DiGraph),
    )
    for g, seq in ((ga, a), (gb, other)):
        nx.set_node_attributes(g, dict(enumerate(seq)), "sig")
    t_ged, cost = _time(lambda: nx.graph_edit_distance(ga, gb, node_match=lambda x, y: x["sig"] == y["sig"],
                                                       timeout=timeout))  # fmt: skip
    print(f"3. compare alignment, chains of {n} and {n + 1} layers: difflib {t_dl * 1e3:.2f} ms; "
          f"networkx.graph_edit_distance {t_ged:.2f} s (edit cost {cost}; 4 = one inserted layer and its edges"
          f"{', stopped at the timeout' if t_ged >= timeout else ''})")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=100000)
    p.add_argument(
        "--timeout", type=float, default=20.0, help="seconds before a networkx enumeration stops"
    )
    args = p.parse_args()
    topological(args.nodes)
    for b, k in ((2, 3), (3, 4), (4, 5)):
        execution_order(b, k, args.timeout)
    for n in (8, 12, 175):  # 175: ResNet-50's layers
        alignment(n, args.timeout)


if __name__ == "__main__":
    main()
