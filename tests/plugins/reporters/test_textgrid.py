"""textgrid writes rich's tables byte for byte (colour or not), or hands them back to rich."""

from __future__ import annotations

import io
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from analyzer import analyze_graph, zoo
from analyzer.core.plugins import load_plugins
from analyzer.plugins.reporters import textgrid

cell_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12
)

# cells of one markup style (a totals group's name: "[italic]compute:[/italic]"), odd ones included
styled_text = st.builds(lambda style, text, close: f"[{style}]{text}[/{style if close else ''}]",
                        st.sampled_from(["italic", "bold red", "b"]), cell_text, st.booleans())  # fmt: skip


def _table(title, headers, rows, sections=(), right_from=1, **options):
    t = Table(
        title=title, title_justify="left", header_style="bold", **{"box": box.HEAVY_HEAD, **options}
    )
    for i, h in enumerate(headers):
        t.add_column(h, justify="right" if i >= right_from else "left", overflow="fold")
    for i, row in enumerate(rows):
        t.add_row(*row)
        if i in sections:
            t.add_section()
    return t


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet="abc xyz", max_size=10),
    st.lists(cell_text, min_size=1, max_size=4),
    st.data(),
    st.booleans(),
    st.sampled_from([None, 40, 80, 200]),
)
def test_any_table_renders_as_rich_renders_it(title, headers, data, color, width):
    rows = data.draw(
        st.lists(st.lists(cell_text | styled_text, min_size=len(headers), max_size=len(headers)), max_size=5)
    )
    sections = data.draw(st.sets(st.integers(0, 5)))

    narrow = data.draw(st.booleans())  # the table format's layout under 120 columns

    def make():
        if not narrow:
            return _table(title, headers, rows, sections)
        t = _table(title, [], [], box=box.SIMPLE_HEAD, pad_edge=False)
        t.columns.clear()
        for i, h in enumerate(headers):
            widest = (
                max([1] + [len(r[i]) for r in rows]) if i else None
            )  # headers may be wider: wrapped
            t.add_column(
                h,
                justify="right" if i else "left",
                overflow="fold",
                min_width=widest,
                max_width=widest,
            )
        for i, row in enumerate(rows):
            t.add_row(*row)
            if i in sections:
                t.add_section()
        return t

    text = textgrid.to_text(make(), "a [bold]note[/bold]", color=color, width=width)
    assert text == textgrid.to_text(
        make(), "a [bold]note[/bold]", color=color, width=width, grid=False
    )


def test_layouts_it_does_not_reproduce_go_to_rich():
    console = Console(file=io.StringIO(), width=200)
    other_box = _table("t", ["a"], [["x"]])
    other_box.box = box.SIMPLE
    assert textgrid.render(other_box, console, False) is None
    too_wide = _table("t", ["a", "b"], [["x" * 150, "y" * 60]])
    # rich shrinks it to 200 columns and folds the cells: textgrid the same way
    assert textgrid.to_text(too_wide, width=200) == textgrid.to_text(
        too_wide, width=200, grid=False
    )
    styled = _table("t", ["a"], [["[italic]x[/italic]"]])
    assert textgrid.render(styled, console, True) is None
    assert (
        textgrid.render(styled, console, False) is not None
    )  # without colour, only its text shows


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "tiny_cnn"])
def test_table_reports_unchanged(name):
    """Every table of the table format (layers, totals, hardware, not counted) as rich draws it."""
    plugins = load_plugins()
    g = getattr(zoo, name)()
    next(iter(g.nodes())).meta["uncounted"] = "a test gap"
    report = analyze_graph(g, devices=["t4", "stm32f746"], plugins=plugins)
    reporter = plugins.reporter("table")
    for color, width in ((False, None), (True, 200), (True, 100), (True, 80)):
        for depth in (None, 2):
            with mock.patch.object(textgrid, "render", lambda *a: None):  # rich draws every table
                expected = reporter.render_report(report, color=color, width=width, depth=depth)
            assert reporter.render_report(report, color=color, width=width, depth=depth) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abc._@019-/XYZ,;! \t", min_size=1, max_size=40), st.integers(1, 20),
       st.sampled_from(["left", "right"]))  # fmt: skip
def test_a_cell_wraps_as_rich_wraps_it(text, width, justify):
    """A layer name in a shrunk column folds as rich folds it (``_wrap``'s shortcut for one word)."""
    console = Console(file=io.StringIO(), width=200)
    lines = [line.plain for line in Text(text).wrap(console, width, justify=justify, overflow="fold")]

    def fill(parts):
        return [" " * (width - n) + p if justify == "right" else p + " " * (width - n) for p, n in parts]

    assert fill(textgrid._wrap((text, len(text)), width, justify, console)) == fill((p, len(p)) for p in lines)


@settings(max_examples=300, deadline=None)
@given(cell_text | styled_text | st.sampled_from(["[bold]m (ir); inputs: x 1x3 float32[/bold]", "a: b", ":x:", "a\tb"]),
       st.booleans(), st.sampled_from([None, 20]))  # fmt: skip
def test_a_line_prints_as_rich_prints_it(text, color, width):
    """Notes and the model's line (``line``'s shortcut for plain or one-style text) as rich prints them."""
    assert textgrid.to_text(text, color=color, width=width) == textgrid.to_text(text, color=color, width=width, grid=False)
