"""The JAX frontend beside XLA's own cost analysis, same process, same models.

For each model both tools get the same weight-free inputs (``jax.ShapeDtypeStruct``s):

- ``xla``: ``jax.jit(fn).lower(*args).cost_analysis()`` (trace, lower to StableHLO,
  XLA's HLO cost analysis), ``fn`` being what the analyzer traces too (``model.apply``
  with the variables, ``nnx.merge(...)(x)``, ``eqx.combine(...)(x)``, the plain function);
- ``analyzer``: ``analyzer.analyze(model, inputs, params=...)``: the whole analysis,
  capture (trace + IR) and every metric; ``capture`` is ``analyzer.to_graph`` alone.

Linen modules are given to the analyzer as modules: it makes their variables with
``jax.eval_shape(model.init, ...)``, so ``xla`` for them includes that same
``eval_shape`` (XLA cannot lower ``apply`` without variables); the ``+vars`` rows give
both tools the variables.

Cold: ``jax.clear_caches()`` and the analyzer's trace cache cleared before every timed
run, so neither tool reuses a trace or a lowering of an earlier run: what analysing a
model for the first time costs. Warm (``--warm``): nothing cleared; JAX reuses its cached
trace and lowering of the same function, the analyzer its cached trace of the same model
(``analyzer/plugins/frontends/jax/cache.py``) and walks it again. Runs of the three
columns are interleaved; figures are medians of ``--repeat`` runs after one untimed run;
the ratio is analyzer / xla (below 1: the analyzer is faster).

    .venv/bin/python bench/jax_vs_xla.py [--repeat 5] [--warm] [--clock wall|cpu] [NAME...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests/plugins/frontends/jax"))

import real_models as rm  # noqa: E402

import analyzer  # noqa: E402
from analyzer.plugins.frontends.jax import cache as jax_cache  # noqa: E402


def resnet18() -> rm.Case:
    """Flax ResNet-18 (basic blocks 2-2-2-2, width 64), 1x224x224x3, given as a module."""
    model = rm.FlaxResNet((2, 2, 2, 2), 64, 1000)
    x = rm.S((1, 224, 224, 3), rm.F32)
    variables = jax.eval_shape(model.init, jax.random.key(0), x)
    return rm.Case(model, x, None, {}, model.apply, (variables, x), rm.leaf_size(variables["params"]),
                   rm.leaf_size(variables["batch_stats"]), rm.resnet_macs(model, 1, 224))  # fmt: skip


MODELS: dict[str, Callable[[], rm.Case]] = {
    "flax_resnet18": resnet18,
    "flax_transformer": rm.linen_lm_case,
    **rm.CASES,
}


def with_variables(case: rm.Case) -> rm.Case | None:
    """The same linen case with its variables handed to the analyzer (as XLA gets them)."""
    if case.params is not None or not hasattr(case.model, "init"):
        return None
    variables = case.xla_args[0]
    return rm.Case(case.model, case.inputs, variables, case.frontend_options, case.xla_fn,
                   case.xla_args, case.ref_params, case.ref_non_trainable, case.ref_macs)  # fmt: skip


def xla_runner(case: rm.Case, given: bool) -> Callable[[], Any]:
    key = jax.random.key(0)  # made once, as the analyzer makes its own once per process

    def run() -> Any:
        args = case.xla_args
        if not given:  # the analyzer makes the variables itself: so does XLA's side
            variables = jax.eval_shape(case.model.init, key, case.inputs)
            args = (variables, *args[1:])
        return jax.jit(case.xla_fn).lower(*args).cost_analysis()

    return run


def analyzer_runner(case: rm.Case, whole: bool = True) -> Callable[[], Any]:
    fn = analyzer.analyze if whole else analyzer.to_graph
    kwargs = {"frontend_options": case.frontend_options} if whole else case.frontend_options
    return lambda: fn(
        case.model, case.inputs, params=case.params, framework=case.framework, **kwargs
    )


def timed(runs: dict[str, Callable[[], Any]], repeat: int, cold: bool, clock: Callable[[], float]
          ) -> tuple[dict[str, float], dict[str, Any]]:  # fmt: skip
    """Median time of each run, the runs interleaved (load from other processes hits all alike)."""
    results = {name: fn() for name, fn in runs.items()}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            if cold:
                jax.clear_caches()
                jax_cache.clear()
            t = clock()
            results[name] = fn()
            times[name].append(clock() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}, results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*", default=list(MODELS))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warm", action="store_true", help="also time without clearing caches")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time (steadier on a loaded host)")  # fmt: skip
    args = parser.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"jax {jax.__version__}; {args.clock} clock; medians of {args.repeat} runs; ms")
    modes = [("cold", True)] + ([("warm", False)] if args.warm else [])
    print(f"{'model':28s} {'mode':5s} {'xla':>8s} {'analyzer':>9s} {'capture':>8s} {'ratio':>6s}  "
          f"{'MACs':>13s} {'XLA flops':>13s}")  # fmt: skip
    worst = 0.0
    for name in args.names:
        case = MODELS[name]()
        variants = [(name, case, case.params is not None or not hasattr(case.model, "init"))]
        given = with_variables(case)
        if given is not None:
            variants.append((f"{name} +vars", given, True))
        for label, c, vars_given in variants:
            runs = {"xla": xla_runner(c, vars_given), "analyzer": analyzer_runner(c),
                    "capture": analyzer_runner(c, whole=False)}  # fmt: skip
            for mode, cold in modes:
                t, res = timed(runs, args.repeat, cold, clock)
                ratio = t["analyzer"] / t["xla"]
                worst = max(worst, ratio)
                cost = res["xla"][0] if isinstance(res["xla"], list) else res["xla"]
                print(
                    f"{label:28s} {mode:5s} {t['xla'] * 1e3:8.1f} {t['analyzer'] * 1e3:9.1f} "
                    f"{t['capture'] * 1e3:8.1f} {ratio:6.2f}  {res['analyzer'].totals['macs']:13,d} "
                    f"{int(cost.get('flops', 0)):13,d}"
                )
    print(f"worst ratio (analyzer / xla): {worst:.2f}")


if __name__ == "__main__":
    main()
