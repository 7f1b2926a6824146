"""Long runs of the property tests (tests/properties): same strategies, many more examples.

Every property's CI budget (30 examples for IR graphs, 8 for the three-framework
builds) is multiplied by ``--scale``; pytest prints, per property, how many
examples passed, failed or were discarded, and for a failure the shrunk
falsifying example (an ``Arch`` description or a ``Recipe`` of GraphBuilder
calls) with the assertion that broke.

    .venv/bin/python bench/fuzz.py                      # scale 100: 3,000 graphs per IR property
    .venv/bin/python bench/fuzz.py --scale 20 --frameworks
    .venv/bin/python bench/fuzz.py -k flops --seed 7

CI runs the properties derandomized (the same examples every run); here every
run draws fresh examples (``--seed`` repeats one). Exit status is pytest's: 0
when every property held.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "tests" / "properties"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=100, help="multiplies each property's example count"
    )
    parser.add_argument("--frameworks", action="store_true",
                        help="also the PyTorch / Keras / Flax properties (slow: three captures per example)")  # fmt: skip
    parser.add_argument("-k", dest="keyword", help="only properties whose name matches (pytest -k)")
    parser.add_argument("--seed", type=int, help="hypothesis seed, to repeat a run")
    args = parser.parse_args(argv)

    os.environ["ANALYZER_FUZZ_SCALE"] = str(args.scale)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    sys.path.insert(0, str(ROOT))
    import pytest

    files = [str(SUITE / "test_ir_properties.py"), str(SUITE / "test_hardware_properties.py")]
    if args.frameworks:
        files.append(str(SUITE / "test_cross_framework_properties.py"))
    pytest_args = [*files, "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics",
                   "--hypothesis-verbosity=normal", "--rootdir", str(ROOT)]  # fmt: skip
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.seed is not None:
        pytest_args.append(f"--hypothesis-seed={args.seed}")
    print(f"fuzz: scale {args.scale:g}, {', '.join(Path(f).name for f in files)}", flush=True)
    return int(pytest.main(pytest_args))


if __name__ == "__main__":
    sys.exit(main())
