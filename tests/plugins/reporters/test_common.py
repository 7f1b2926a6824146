"""The one place numbers are made readable for the table and markdown reporters (and `devices`)."""

from __future__ import annotations

import pytest

from analyzer.plugins.reporters.common import fmt, human, human_bytes, plain


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (1, "1"),
        (999, "999"),
        (1000, "1.0k"),
        (724_406_816, "724.4M"),
        (1.5e6, "1.5M"),
        (2.5e12, "2.5T"),
        (4.2e15, "4.2P"),  # once printed as 4200.0T
        (3.072e18, "3.1E"),  # once printed as 3072000.0T
        (1e21, "1000.0E"),  # past the last prefix: still no exponent
        (-2.6e6, "-2.6M"),
        (0.5, "0.5"),
    ],
)
def test_counts_get_si_prefixes_through_exa(value, text):
    assert human(value) == text


@pytest.mark.parametrize(
    ("value", "decimal", "binary"),
    [
        (0, "0 B", "0 B"),
        (512, "512 B", "512 B"),
        (1000, "1 kB", "1000 B"),
        (1024, "1.02 kB", "1 KiB"),
        (327_680, "328 kB", "320 KiB"),  # the STM32F746's SRAM
        (1_048_576, "1.05 MB", "1 MiB"),  # its flash
        (999_999, "1 MB", "977 KiB"),  # rounding up to the next unit, not "1000 kB"
        (243_860_896, "244 MB", "233 MiB"),  # AlexNet at fp32
        (80e9, "80 GB", "74.5 GiB"),
        (2e12, "2 TB", "1.82 TiB"),
        (-2_600_000, "-2.6 MB", "-2.48 MiB"),  # a negative margin
    ],
)
def test_bytes_decimal_and_binary(value, decimal, binary):
    assert human_bytes(value) == decimal
    assert human_bytes(value, binary=True) == binary


@pytest.mark.parametrize(
    "value", [1, 999, 1000, 1.5e6, 1_048_576.0, 3.072e18, 1e21, 1.5e-7, 0.1487, 6726.4, 1e-12, -3.3e9]
)
def test_never_scientific_notation(value):
    for text in (plain(value), plain(value, 6), fmt(float(value)), human(value), human_bytes(abs(value))):
        assert "e+" not in text and "e-" not in text, text
        assert "E" not in text or text.endswith("E") or text.endswith("EB")


@pytest.mark.parametrize(
    ("value", "text"),
    [(1_048_576.0, "1,048,576"), (1527.3, "1527"), (0.655, "0.655"), (503.84, "503.8"), (1.5e-7, "0.00000015")],
)
def test_plain_keeps_four_significant_digits(value, text):
    assert fmt(value) == text
    assert float(text.replace(",", "")) == pytest.approx(value, rel=1e-3)


def test_device_table_shows_flash_without_exponent():
    import contextlib
    import io

    from analyzer.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["devices", "show", "stm32f746"]) == 0
    text = out.getvalue()
    assert "1,048,576" in text and "e+0" not in text


def test_energy_note_says_why_energy_is_a_lower_bound():
    """An MCU's flash has no energy figure: the table marks energy ≥ and the note says why."""
    import analyzer
    from analyzer import zoo
    from analyzer.plugins.reporters.common import hardware_notes

    report = analyzer.analyze(zoo.mobilenet_v2(), devices=["stm32f746"], weight_bits=8)
    (note,) = [n for n in hardware_notes(report) if "from ops and bytes moved" in n]
    assert "(≥: 3.54 MB of flash moved with no energy figure)" in note  # the int8 weights, 3,538,984 B
