"""The memory guard refuses real traces that would allocate too much, before they allocate it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import analyzer  # noqa: E402
from analyzer.cli import main  # noqa: E402
from analyzer.core.errors import AnalysisError, UsageError  # noqa: E402
from analyzer.plugins.frontends.torch.memory_guard import MemoryLimit, available_memory  # noqa: E402

GB = 10**9
MODELS = textwrap.dedent(
    """
    import torch
    from torch import nn

    class BranchesOnValues(nn.Module):
        '''A value-dependent branch first: the meta trace fails at once.'''
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 64, 3, padding=1)
        def forward(self, x):
            if x.mean() > -1e9:
                return self.conv(x)
            return x

    class SizeFromValues(nn.Module):
        '''A size only values decide: no meta trace can foresee the allocation.'''
        def forward(self, x):
            side = 10 if x.abs().max().item() == 1.0 else 400_000
            return torch.ones(side, side) @ torch.ones(side, 1)

    class ShapesOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 64, 3, padding=1)
        def forward(self, x):
            return self.conv(x).relu()
    """
)


CASES = {
    # 1x3x30000x30000: the input alone is 10.8 GB, the conv's output 230 GB; the default limit
    # is half of the memory available, which no test machine comes near
    "huge": "analyzer.analyze(BranchesOnValues(), (1, 3, 30000, 30000))",
    # the input, 1x3x12000x12000 (1.7 GB + 36.9 GB for the conv), under a 1 GB limit
    "explicit": "analyzer.analyze(BranchesOnValues(), (1, 3, 12000, 12000), "
    "frontend_options={'max_memory': '1GB'})",
    # the probe sees a 10x10 matrix; the real trace would make a 400000x400000 one (640 GB)
    "size_from_values": "analyzer.analyze(SizeFromValues(), torch.full((2, 2), 3.0), "
    "frontend_options={'max_memory': '2GB'})",
    "export": "analyzer.analyze(ShapesOnly(), (1, 3, 12000, 12000), "
    "frontend_options={'capture': 'export'})",
}


# The process's own high-water mark (VmHWM: per address space, so it starts afresh at exec).
# Not getrusage's ru_maxrss, which Linux carries over from the parent across fork and exec: under
# a large pytest process it would report the parent's size.
PEAK_RSS = textwrap.dedent(
    """
    def peak_rss():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    """
)


@pytest.fixture(scope="module")
def isolated() -> dict[str, dict]:
    """Each case run in one fresh process, in order: its outcome, seconds, and the process's peak
    RSS so far (a running maximum, so each case's figure bounds what it allocated)."""
    lines = [MODELS, PEAK_RSS, "import json, time", "import analyzer", "results = {}"]
    for name, call in CASES.items():
        lines.append(textwrap.dedent(f"""
            start = time.perf_counter()
            try:
                outcome = {{"ok": {call}.model["capture"]}}
            except Exception as e:
                outcome = {{"error": str(e), "type": type(e).__name__}}
            outcome["seconds"] = time.perf_counter() - start
            outcome["peak_rss"] = peak_rss()
            results[{name!r}] = outcome
        """))  # fmt: skip
    lines.append("print(json.dumps(results))")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True,
                          text=True, timeout=600, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_huge_input_with_value_dependent_control_flow_is_refused_before_allocating(isolated):
    out = isolated["huge"]
    assert out.get("type") == "AnalysisError", out
    message = out["error"]
    assert "\n" not in message and message.startswith("BranchesOnValues: the meta trace needs")
    assert "aten.is_nonzero" in message and "above the memory limit" in message
    assert "smaller input or a batch of 1" in message and "--max-memory" in message
    assert "inputs 10.8 GB" in message and "at op conv" in message
    assert out["seconds"] < 60
    assert out["peak_rss"] < 1.5 * GB  # importing torch is ~0.3 GB; nothing big was allocated


def test_an_explicit_limit_refuses_what_the_default_would_allow(isolated):
    out = isolated["explicit"]
    assert out.get("type") == "AnalysisError", out
    assert "above the memory limit of 1.0 GB (max_memory)" in out["error"]
    assert out["seconds"] < 60 and out["peak_rss"] < 1.5 * GB


def test_a_size_only_values_decide_is_stopped_before_the_op_that_would_allocate_it(isolated):
    out = isolated["size_from_values"]
    assert out.get("type") == "AnalysisError", out
    assert "the real trace was stopped before an op" in out["error"]
    assert "aten.ones.default outputs 400000x400000" in out["error"]
    assert out["peak_rss"] < 1.5 * GB


def test_export_allocates_nothing_for_a_huge_input(isolated):
    out = isolated["export"]
    assert out.get("ok") == "torch.export", out
    assert out["peak_rss"] < 1.5 * GB  # the 1.7 GB input is never written, so never resident


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)

    def forward(self, x):
        return self.fc(x) if x.sum() > -1e9 else x


def test_a_small_fallback_passes_the_default_limit(plugins):
    report = analyzer.analyze(Small(), (4, 16), plugins=plugins)
    assert report.model["capture"] == "torch.dispatch(real, fallback)"
    assert report.totals["macs"] == 4 * 16 * 16


def test_limits_are_parsed_and_checked():
    assert MemoryLimit(123).limit == 123
    assert MemoryLimit("8GB").limit == 8 * GB
    assert MemoryLimit("512MiB").limit == 512 * 2**20
    assert MemoryLimit("1.5 gb").limit == int(1.5 * GB)
    assert MemoryLimit("none").limit is None
    free = available_memory()
    if free is not None:
        assert abs(MemoryLimit("25%").limit - free / 4) < 0.05 * free  # memory moves meanwhile
        assert abs(MemoryLimit().limit - free / 2) < 0.05 * free
    for bad in ("lots", "-1GB", "0", 0, -5, "12 parsecs", True):
        with pytest.raises(UsageError, match="max_memory"):
            MemoryLimit(bad)


def test_the_cli_option_reaches_the_guard(tmp_path, capsys):
    spec = tmp_path / "nets.py"
    spec.write_text(MODELS)
    argv = ["analyze", f"{spec}:BranchesOnValues", "-i", "1,3,256,256"]
    started = time.perf_counter()
    assert main([*argv, "--max-memory", "1MB"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "above the memory limit of 1.0 MB (max_memory)" in err
    assert time.perf_counter() - started < 60
    assert main([*argv, "--max-memory", "plenty"]) == 2
    assert "max_memory" in capsys.readouterr().err
    assert main([*argv, "--max-memory", "1GB", "-f", "json"]) == 0
    assert (
        json.loads(capsys.readouterr().out)["model"]["capture"] == "torch.dispatch(real, fallback)"
    )


def test_the_guard_message_is_an_analysis_error(plugins):
    with pytest.raises(AnalysisError, match="above the memory limit of 1 B"):
        analyzer.analyze(Small(), (4, 16), plugins=plugins, frontend_options={"max_memory": 1})
