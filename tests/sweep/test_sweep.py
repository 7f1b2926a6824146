"""Sweeps end to end: rows, one capture per configuration, resumption, error rows, executors, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from analyzer.cli import main
from analyzer.sweep import sweep, tasks
from tests.sweep.families import hand_macs

HERE = Path(__file__).parent
DEVICES = ["stm32f746", "raspberry-pi-4"]


def plan(**extra: Any) -> dict[str, Any]:
    doc = {"model": {"factory": str(HERE / "families.py") + ":tiny_cnn"}, "grid": {"width": [4, 8], "resolution": [16, 32]},
           "devices": DEVICES, "weight_bits": [8, "native"]}  # fmt: skip
    doc.update(extra)
    return doc


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r["key"])


def test_rows_cover_every_configuration_precision_and_device() -> None:
    result = sweep(plan(), workers=1)
    assert len(result.rows) == 4 * 2 * 2 and not result.errors
    for r in result.rows:
        assert r["macs"] == hand_macs(r["width"], r["resolution"])
        assert r["device"] in DEVICES and r["hardware_model"].startswith("roofline-")
        assert r["latency_s"] > 0 and r["fits"] in (True, False) and "margin_bytes" in r
        size = r["model_size_bytes"]
        params = r["total_params"]
        assert size == (params if r["weight_bits"] == 8 else 4 * params)  # int8 vs float32 weights
    assert len({r["key"] for r in result.rows}) == len(result.rows)


def test_each_configuration_is_captured_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = tasks.capture
    monkeypatch.setattr(tasks, "capture", lambda p, t: calls.append(t) or real(p, t))
    sweep(plan(), workers=1)
    assert len(calls) == 4  # 4 configurations, each analysed for 2 precisions x 2 devices


def test_batch_goes_to_the_factory_or_the_input_shapes() -> None:
    result = sweep(plan(batch=[1, 3], devices=[]), workers=1)
    assert {(r["batch"], r["macs"]) for r in result.rows if r["width"] == 4 and r["resolution"] == 16} == {
        (1, hand_macs(4, 16)), (3, hand_macs(4, 16, batch=3))}
    torch_plan = {"model": {"factory": str(HERE / "families.py") + ":torch_tiny"}, "grid": {"width": [4]}, "batch": [2]}
    pytest.importorskip("torch")
    (row,) = sweep(torch_plan, workers=1).rows
    assert row["batch"] == 2 and row["error"] is None


def test_a_failing_configuration_is_an_error_row_not_the_end() -> None:
    doc = plan(grid={"width": [4, 13, 8]}, devices=["stm32f746"], weight_bits=[8])
    doc["model"]["factory"] = str(HERE / "families.py") + ":broken"
    result = sweep(doc, workers=1)
    assert [r["width"] for r in result.rows] == [4, 13, 8]
    (bad,) = result.errors
    assert bad["width"] == 13 and bad["error"] == "ValueError: width 13 is not supported"
    assert bad["device"] == "stm32f746" and bad["macs"] is None and bad["latency_s"] is None


def test_resume_skips_finished_rows_and_reruns_cut_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "runs.csv"
    first = sweep(plan(), output=out, workers=1)
    assert first.ran == 4 and out.exists()
    again = sweep(plan(grid={"width": [4, 8, 16], "resolution": [16, 32]}), output=out, workers=1)
    assert (again.ran, again.skipped) == (2, 4)  # only width 16 is new
    assert comparable([r for r in again.rows if r["width"] != 16]) == comparable(first.rows)

    # a run stopped mid-way leaves a journal: its finished tasks are not run again
    out.unlink()
    calls: list[Any] = []
    real = tasks.run_task

    def stop_after_two(p: Any, t: Any) -> list[dict[str, Any]]:
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(t)
        return real(p, t)

    monkeypatch.setattr("analyzer.sweep.executors.run_task", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        sweep(plan(), output=out, workers=1)
    assert not out.exists() and (tmp_path / "runs.csv.journal.jsonl").exists()
    monkeypatch.setattr("analyzer.sweep.executors.run_task", real)
    resumed = sweep(plan(), output=out, workers=1)
    assert (resumed.ran, resumed.skipped) == (2, 2)
    assert not (tmp_path / "runs.csv.journal.jsonl").exists()
    assert comparable(resumed.rows) == comparable(first.rows)


def test_parquet_round_trip_and_no_resume(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "runs.parquet"
    first = sweep(plan(), output=out, workers=1)
    table = pq.read_table(out)
    assert table.num_rows == len(first.rows) and {"key", "width", "macs", "latency_s", "fits"} <= set(table.column_names)
    assert sweep(plan(), output=out, workers=1, resume=False).ran == 4


def test_local_pool_and_ray_give_the_same_rows() -> None:
    ray = pytest.importorskip("ray")
    doc = plan(grid={"width": [4, 8, 16]})
    serial = sweep(doc, workers=1).rows
    pooled = sweep(doc, workers=2).rows
    assert pooled == serial  # rows come back in plan order whatever order tasks finish in
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = sweep(doc, executor="ray").rows
    finally:
        ray.shutdown()
    assert on_ray == serial


def test_cli_prints_fronts_and_writes_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(HERE / "families.py", tmp_path / "families.py")
    (tmp_path / "s.toml").write_text(
        'devices = ["raspberry-pi-4"]\n[model]\nfactory = "families.py:tiny_cnn"\n[grid]\nwidth = [4, 8]\n'
    )
    out = tmp_path / "rows.csv"
    assert main(["sweep", str(tmp_path / "s.toml"), "-o", str(out), "--top", "1"]) == 0
    text = capsys.readouterr().out
    assert "Pareto front on raspberry-pi-4" in text and "Top 1 on raspberry-pi-4" in text
    assert f"2 rows, 0 errors; ran 2 tasks, skipped 0 done before; every row in {out}" in text
    assert main(["sweep", str(tmp_path / "s.toml"), "-o", str(out), "-f", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["skipped_tasks"] == 2 and [r["width"] for r in summary["fronts"]["raspberry-pi-4"]] == [4, 8]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "missing.toml"], "no such sweep file: missing.toml"),
        (["sweep", "{toml}", "-o", "rows.xlsx"], "--output rows.xlsx: the suffix chooses the format"),
        (["sweep", "{toml}", "--ray-address", "x:1"], "--ray-address applies to --executor ray"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text(f'[model]\nfactory = "{HERE / "families.py"}:tiny_cnn"\n')
    assert main([a.replace("{toml}", str(toml)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_worked_example_runs() -> None:
    result = sweep(Path(__file__).parents[2] / "examples" / "mobilenet_v2_sweep.toml", workers=1)
    assert not result.errors and len(result.rows) == 4 * 5 * 3
    f746 = result.fronts["stm32f746"]
    assert f746 and all(r["fits"] for r in f746)  # something fits the smallest board
    assert any(r["fits"] is False for r in result.rows if r["device"] == "stm32f746")  # and something does not


def test_sweep_plot_highlights_the_front(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from analyzer.sweep.plot import scatter, write_plots

    result = sweep(plan(), workers=1)
    fig = scatter(result, "raspberry-pi-4")
    ax = fig.axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Sweep: model on raspberry-pi-4", "latency (s)", "MACs")
    (front_line,) = ax.lines
    assert list(front_line.get_xdata()) == [r["latency_s"] for r in result.fronts["raspberry-pi-4"]]
    paths = write_plots(result, tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"sweep-{d}.{e}" for d in DEVICES for e in ("png", "svg"))
    assert all(p.stat().st_size > 1000 for p in paths)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"devices": ["stm32f746", "nope"]}, "sweep: devices: unknown device 'nope'"),
        ({"hardware": {"bogus": 1}}, "sweep: hardware: unknown hardware option 'bogus'"),
    ],
)
def test_devices_and_hardware_options_are_checked_before_any_task(extra: dict, message: str) -> None:
    from analyzer.core.errors import UsageError

    with pytest.raises(UsageError, match=message):
        sweep(plan(**extra), workers=1)


def test_cli_all_rows_failing_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.toml").write_text(f'[model]\nfactory = "{HERE / "families.py"}:broken"\n[grid]\nwidth = [13]\n')
    assert main(["sweep", str(tmp_path / "s.toml")]) == 1
    err = capsys.readouterr().err
    assert err == "analyzer: error: every configuration failed (1 rows); the first: ValueError: width 13 is not supported\n"
