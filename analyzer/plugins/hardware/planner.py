"""The MCU activation arena: a lifetime-based planner like TensorFlow Lite Micro's.

Buffers (activation storages) live from the step that creates them to their
last reader; graph inputs from the start, graph outputs to the end. The
greedy planner of TFLM (``GreedyMemoryPlanner``) places buffers largest
first, each at the lowest offset that does not overlap, in space, a placed
buffer whose lifetime overlaps its own; sizes are rounded up to the
alignment (16 bytes in TFLM). The arena is the highest end offset.

Two options beyond stock TFLM:

- in-place depthwise convolution (MCUNet/TinyEngine): a depthwise conv whose
  input has no other reader writes its output over its input, using a
  temporary buffer of one output channel;
- execution-order search: for graphs with branches, the order of the steps
  that minimises the peak of live bytes, by dynamic programming over the
  sets of executed steps (exact while the number of such sets stays under
  ``max_states``, a beam search of that width beyond).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple


class Buffer(NamedTuple):
    """One buffer: created by step ``producer`` (None: exists at the start), read by ``consumers``.

    Buffers and placements are immutable tuples (cheaper to build than frozen dataclasses:
    hundreds per plan, one plan per analysis)."""

    name: str
    size: int
    producer: int | None
    consumers: frozenset[int] = frozenset()
    output: bool = False  # a graph output lives to the end


class Placement(NamedTuple):
    name: str
    size: int  # aligned
    offset: int
    first: int  # position in the execution order
    last: int


@dataclass(slots=True)
class MemoryPlan:
    arena_bytes: int
    order: list[int]
    placements: list[Placement]
    live_bytes: list[int]  # live (aligned) bytes at each position of the order
    naive_bytes: int  # every buffer in its own place: no reuse
    exact_order: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def peak_live_bytes(self) -> int:
        return max(self.live_bytes, default=0)

    @property
    def peak_step(self) -> int | None:
        """The step (original index) at which the most bytes are live."""
        if not self.live_bytes:
            return None
        return self.order[max(range(len(self.live_bytes)), key=self.live_bytes.__getitem__)]


def align(size: int, alignment: int) -> int:
    return -(-size // alignment) * alignment


def greedy_arena(items: Sequence[tuple[int, int, int]]) -> tuple[int, list[int]]:
    """TFLM's greedy placement of ``(size, first, last)`` items (inclusive lifetimes).

    Returns the arena size and each item's offset.
    """
    offsets = [0] * len(items)
    placed: list[tuple[int, int, int, int]] = []  # (first, last, size, index) of each placed item
    for i in sorted(range(len(items)), key=lambda k: -items[k][0]):  # stable: ties keep input order
        size, first, last = items[i]
        if size == 0:
            continue
        # placed items whose lifetime overlaps, by offset (ties: in placing order, as sorted keeps)
        overlapping = sorted([(offsets[j], s) for f, la, s, j in placed if f <= last and first <= la],
                             key=_first)  # fmt: skip
        candidate = 0
        for offset, s in overlapping:
            if candidate + size <= offset:
                break  # the gap below this buffer is large enough
            candidate = max(candidate, offset + s)
        offsets[i] = candidate
        placed.append((first, last, size, i))
    return max((offsets[i] + s for _f, _la, s, i in placed), default=0), offsets


def _first(pair: tuple[int, int]) -> int:
    return pair[0]


def lifetimes(buffers: Sequence[Buffer], order: Sequence[int]) -> list[tuple[int, int]]:
    """(first, last) positions of each buffer when steps run in ``order``."""
    pos = {step: p for p, step in enumerate(order)}
    end = len(order) - 1
    out = []
    for b in buffers:
        first = pos[b.producer] if b.producer is not None else 0
        last = max((pos[c] for c in b.consumers), default=first)
        out.append((first, end if b.output else max(last, first)))
    return out


def plan(buffers: Sequence[Buffer], n_steps: int, deps: Sequence[set[int]] | None = None, *,
         alignment: int = 16, reorder: bool = False, max_states: int = 20000,
         order: Sequence[int] | None = None) -> MemoryPlan:  # fmt: skip
    """Plan the arena for steps ``0..n_steps-1``: in ``order`` if given, else in index
    order, or in the order minimising the live peak with ``reorder``.

    ``deps[t]``: steps that must run before step t; by default the producers of its buffers.
    """
    sized = [Buffer(b.name, align(b.size, alignment), b.producer, b.consumers, b.output) for b in buffers]
    if deps is None:
        deps = _deps_from_buffers(sized, n_steps)
    exact = True
    if order is not None:
        order = list(order)
    elif reorder and n_steps > 1:
        order, exact = search_order(sized, n_steps, deps, max_states)
    else:
        order = list(range(n_steps))
    spans = lifetimes(sized, order) if n_steps else [(0, 0)] * len(sized)
    arena, offsets = greedy_arena([(b.size, f, last) for b, (f, last) in zip(sized, spans, strict=True)])
    change = [0] * (max(n_steps, 1) + 1)  # live bytes as a running sum of starts and ends (ints: exact)
    for b, (f, last) in zip(sized, spans, strict=True):
        change[f] += b.size
        change[last + 1] -= b.size
    live = list(itertools.accumulate(change[:-1]))
    placements = [Placement(b.name, b.size, o, f, last) for b, o, (f, last) in zip(sized, offsets, spans, strict=True)]
    return MemoryPlan(arena, order, placements, live if n_steps else [], sum(b.size for b in sized), exact)


def _deps_from_buffers(buffers: Sequence[Buffer], n: int) -> list[set[int]]:
    deps: list[set[int]] = [set() for _ in range(n)]
    for b in buffers:
        if b.producer is not None:
            for c in b.consumers:
                if c != b.producer:
                    deps[c].add(b.producer)
    return deps


def search_order(buffers: Sequence[Buffer], n: int, deps: Sequence[set[int]], max_states: int) -> tuple[list[int], bool]:
    """The topological order minimising the peak of live bytes; exact unless the beam was cut.

    The live bytes after a set S of executed steps depend on S only (buffers
    created and still read by a step outside S, or outputs), so a DP over
    sets, one level per executed step, finds the optimum.
    """
    dep_mask = [sum(1 << d for d in deps[t]) for t in range(n)]
    outs: list[list[int]] = [[] for _ in range(n)]
    ins: list[list[int]] = [[] for _ in range(n)]
    cons = [sum(1 << c for c in b.consumers) for b in buffers]
    start = 0
    for i, b in enumerate(buffers):
        if b.producer is None:
            start += b.size
        else:
            outs[b.producer].append(i)
        for c in b.consumers:
            if c != b.producer:
                ins[c].append(i)
    out_size = [sum(buffers[i].size for i in outs[t]) for t in range(n)]
    frontier: dict[int, tuple[int, int]] = {0: (start, start)}  # executed set -> (peak so far, live now)
    parent: dict[int, tuple[int, int]] = {}
    exact = True
    for _ in range(n):
        nxt: dict[int, tuple[int, int]] = {}
        for mask, (peak, live) in frontier.items():
            for t in range(n):
                bit = 1 << t
                if mask & bit or dep_mask[t] & ~mask:
                    continue
                during = live + out_size[t]
                m2 = mask | bit
                freed = sum(buffers[i].size for i in (*ins[t], *outs[t])
                            if not buffers[i].output and not cons[i] & ~m2)  # fmt: skip
                cand = (max(peak, during), during - freed)
                if m2 not in nxt or cand < nxt[m2]:
                    nxt[m2] = cand
                    parent[m2] = (mask, t)
        if len(nxt) > max_states:  # too many branches to enumerate: keep the best as a beam
            exact = False
            nxt = dict(sorted(nxt.items(), key=lambda kv: kv[1])[:max_states])
        frontier = nxt
    mask = next(iter(frontier))
    order: list[int] = []
    while mask:
        mask, t = parent[mask]
        order.append(t)
    return order[::-1], exact
