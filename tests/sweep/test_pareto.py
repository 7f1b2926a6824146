"""The Pareto front and top K on a hand-checked case."""

from __future__ import annotations

from analyzer.sweep.pareto import front, fronts, top

OBJ = (("latency_s", "min"), ("macs", "max"))


def row(name: str, latency: float, macs: int, fits: bool | None = True, device: str = "d", error: str | None = None) -> dict:
    return {"name": name, "latency_s": latency, "macs": macs, "fits": fits, "device": device, "error": error}


def test_front_by_hand() -> None:
    rows = [
        row("a", 1.0, 10),  # fastest: on the front
        row("b", 2.0, 30),  # slower, bigger: on the front
        row("c", 2.5, 25),  # dominated by b (slower and smaller)
        row("d", 3.0, 30),  # dominated by b (same size, slower)
        row("e", 4.0, 50),  # biggest: on the front
        row("f", 0.5, 100, fits=False),  # would dominate everything, but does not fit
        row("g", 0.1, 1000, error="boom"),  # an error row never competes
        row("h", 5.0, 60, fits=None),  # fit unknown (no memory limit known): competes
    ]
    assert [r["name"] for r in front(rows, OBJ)] == ["a", "b", "e", "h"]


def test_fronts_and_top_are_per_device() -> None:
    rows = [row("a", 1.0, 10, device="x"), row("b", 2.0, 5, device="x"), row("c", 3.0, 8, device="y"),
            row("d", 1.0, 1, device="y")]  # fmt: skip
    assert {d: [r["name"] for r in f] for d, f in fronts(rows, OBJ).items()} == {"x": ["a"], "y": ["d", "c"]}
    assert {d: [r["name"] for r in f] for d, f in top(rows, 1, OBJ).items()} == {"x": ["a"], "y": ["d"]}


def test_three_objectives() -> None:
    obj = (*OBJ, ("peak", "min"))
    rows = [{**row("a", 1.0, 10), "peak": 5}, {**row("b", 1.0, 10), "peak": 3}, {**row("c", 2.0, 10), "peak": 1}]
    assert [r["name"] for r in front(rows, obj)] == ["b", "c"]
