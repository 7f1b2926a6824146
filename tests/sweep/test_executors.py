"""The local pool's fork server: what it imports before forking workers, and when it is restarted."""

from __future__ import annotations

import importlib.util
from multiprocessing import forkserver
from pathlib import Path
from typing import Any

import pytest

from analyzer.sweep import executors
from analyzer.sweep.plan import plan_from_mapping

HERE = Path(__file__).parent


def _plan(factory: str, **model: Any) -> Any:
    return plan_from_mapping({"model": {"factory": str(HERE / "families.py") + ":" + factory, **model}})


def test_a_builder_family_preloads_the_analyzer_and_no_framework() -> None:
    mods = executors.preload_modules(_plan("tiny_cnn"))
    assert mods[-1] == executors.WARM and "analyzer.core.engine" in mods  # the warm-up (gc.freeze) last
    assert not [m for m in mods if m.split(".")[0] in executors.FRAMEWORKS]


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
@pytest.mark.parametrize("model", [{}, {"framework": "torch"}])
def test_a_torch_family_preloads_torch_and_the_torch_frontend(model: dict[str, Any]) -> None:
    # torch_tiny imports torch inside the factory (found in its source); 'framework' names it outright
    mods = executors.preload_modules(_plan("torch_tiny" if not model else "tiny_cnn", **model))
    assert "torch" in mods
    frontend = [m for m in mods if m.startswith("analyzer.plugins.frontends.torch.")]
    assert "analyzer.plugins.frontends.torch.capture" in frontend


class FakeServer:
    def __init__(self) -> None:
        self._forkserver_pid: int | None = 1234
        self.stopped = 0

    def _stop(self) -> None:
        self.stopped += 1
        self._forkserver_pid = None


def test_the_fork_server_restarts_only_when_a_sweep_needs_more(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeServer()
    monkeypatch.setattr(forkserver, "_forkserver", server)
    monkeypatch.setattr(executors, "_SERVER_PRELOAD", [])
    assert executors._forkserver_preload(["a", "b"]) == ["a", "b"] and server.stopped == 0  # first start
    server._forkserver_pid = 1234
    assert executors._forkserver_preload(["b"]) == ["a", "b"] and server.stopped == 0  # has it all: kept
    assert executors._forkserver_preload(["b", "c"]) == ["a", "b", "c"] and server.stopped == 1  # more: restarted
    server._forkserver_pid = 1234
    assert executors._forkserver_preload(["d", executors.WARM])[-2:] == ["d", executors.WARM]  # warm-up last


def test_the_in_process_run_unfreezes_what_it_froze_and_leaves_a_callers_freeze() -> None:
    import gc

    from analyzer.sweep import sweep

    doc = {"model": {"factory": str(HERE / "families.py") + ":tiny_cnn"}, "grid": {"width": [4, 8]}}
    seen: list[int] = []
    for _task, _rows in executors._in_process(plan_from_mapping(doc), plan_from_mapping(doc).tasks()):
        seen.append(gc.get_freeze_count())
    assert seen[0] == 0 and seen[1] > 0 and gc.get_freeze_count() == 0  # frozen after the first task only
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert len(sweep(doc, workers=1).rows) == 2 and gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
