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


def test_front_equals_the_definition_on_random_rows() -> None:
    """Against every pair compared (the definition), with ties and duplicates, 2 and 3 objectives."""
    import random

    rng = random.Random(7)
    for objectives in (OBJ, (*OBJ, ("params", "min"))):
        for _ in range(200):
            rows = [{"name": str(i), "latency_s": rng.choice([0.5, 1.0, 1.5, 2.0]), "macs": rng.randint(1, 5),
                     "params": rng.randint(1, 3), "fits": True} for i in range(rng.randint(0, 25))]  # fmt: skip
            signed = [tuple(r[c] if s == "min" else -r[c] for c, s in objectives) for r in rows]
            keep = [i for i, v in enumerate(signed)
                    if not any(w != v and all(a <= b for a, b in zip(w, v, strict=True)) for w in signed)]  # fmt: skip
            expected = sorted((rows[i] for i in keep), key=lambda r: signed[int(r["name"])])
            assert front(rows, objectives) == expected
