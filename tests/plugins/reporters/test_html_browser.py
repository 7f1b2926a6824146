"""The HTML report in a real browser: headless Chromium (Debian's, CI installs it) driven by Playwright.

The page loads from file:// with no console error and no request besides
itself; the totals shown are the report's; a column header sorts, the filter
filters, the module tree folds, and switching the colour metric recolours
the graph's nodes by that metric's values. Skipped only where Playwright or
Chromium is missing (ANALYZER_CHROMIUM names another Chromium binary).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import analyzer
from analyzer import GraphBuilder
from analyzer.core.report import quantity_info
from analyzer.plugins.reporters import common
from analyzer.plugins.reporters.html import render_html

CHROMIUM = Path(os.environ.get("ANALYZER_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
DEVICE = "stm32f746"
TOP = "#fde725"  # the colour ramp's end: the node with the largest value
NONE = "#e6e8eb"  # nodes without a value (no MACs)

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM} (apt-get install chromium, or set ANALYZER_CHROMIUM)",
        allow_module_level=True,
    )


def blocks_model() -> analyzer.Graph:
    """A stem, two residual blocks (modules with children) and a head."""
    b = GraphBuilder("blocks")
    x = b.relu(b.conv(b.input("x", (1, 3, 16, 16)), 8, 3, padding=1, name="stem"), name="stem_relu")
    for name in ("block1", "block2"):
        with b.scope(name):
            y = b.relu(b.conv(x, 8, 3, padding=1, name="conv1"), name="relu")
            y = b.conv(y, 8, 3, padding=1, groups=8, name="conv2")
            x = b.add(x, y, name="add")
    b.linear(b.flatten(b.global_avg_pool(x, name="pool"), name="flat"), 10, name="head")
    return b.build()


@pytest.fixture(scope="module")
def report():
    return analyzer.analyze(blocks_model(), devices=[DEVICE])


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def html_file(report, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


class Loaded:
    def __init__(self, browser, url: str | None = None, content: str | None = None):
        self.page = browser.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        if url:
            self.page.goto(url)
        else:
            self.page.set_content(content or "")


@pytest.fixture
def loaded(browser, html_file):
    page = Loaded(browser, html_file.as_uri())
    yield page
    page.page.close()


def visible_layer_names(page) -> list[str]:
    return page.eval_on_selector_all(
        "table.az-layers tbody tr",
        "rows => rows.filter(r => r.offsetParent !== null).map(r => r.cells[1].textContent)",
    )


def fills(page) -> list[str]:
    return page.eval_on_selector_all(
        "svg g.az-node rect", "rs => rs.map(r => r.getAttribute('fill'))"
    )


def test_loads_without_console_errors_or_requests(loaded, report, html_file):
    loaded.page.wait_for_selector("svg g.az-node")
    assert loaded.page.locator("svg g.az-node").count() == len(report.layers)
    assert (
        loaded.page.locator("svg path.az-edge").count() > len(report.layers) - 1
    )  # residual edges too
    assert loaded.errors == []
    assert loaded.requests == [html_file.as_uri()]


def test_totals_shown_are_the_reports(loaded, report):
    shown = {k: v for k, v in report.totals.items() if v is not None}
    assert shown
    for key, value in shown.items():
        row = loaded.page.locator(f'table.az-totals tr[data-q="{key}"]')
        info = quantity_info(report.quantities, key)
        assert row.locator("td.az-value").inner_text() == common.show_exact(value, info), key
    assert loaded.page.locator('tr[data-q="macs"] td.az-human').inner_text() == common.human(
        report.totals["macs"]
    )


def test_clicking_a_column_header_sorts(loaded, report):
    header = loaded.page.locator("table.az-layers thead th[title^='macs (']")
    header.click()
    macs = [row.values.get("macs") or 0 for row in report.layers]
    names = [row.name for row in report.layers]
    shown = visible_layer_names(loaded.page)
    assert [macs[names.index(n)] for n in shown] == sorted(macs) and sorted(shown) == sorted(names)
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    shown = visible_layer_names(loaded.page)
    assert [macs[names.index(n)] for n in shown] == sorted(macs, reverse=True)
    loaded.page.locator("table.az-layers thead th", has_text=re.compile("^layer$")).click()
    assert visible_layer_names(loaded.page) == sorted(names, key=str.lower)
    loaded.page.keyboard.press(
        "Enter"
    )  # the header clicked keeps the focus: Enter sorts again, reversed
    assert visible_layer_names(loaded.page) == sorted(names, key=str.lower, reverse=True)


def test_the_filter_filters(loaded, report):
    box = loaded.page.locator("section#layers input.az-filter")
    box.fill("block2")
    expected = [r.name for r in report.layers if "block2" in f"{r.name} {r.op} {r.scope}".lower()]
    assert expected and visible_layer_names(loaded.page) == expected
    assert (
        loaded.page.locator("section#layers .az-count").inner_text()
        == f"{len(expected)} of {len(report.layers)} layers"
    )
    dimmed = loaded.page.eval_on_selector_all(
        "svg g.az-node", "gs => gs.map(g => g.classList.contains('az-dim'))"
    )
    assert dimmed == [
        r.name not in expected for r in report.layers
    ]  # the graph shows what the filter keeps
    box.fill("block2 conv")  # every word must match
    assert visible_layer_names(loaded.page) == [n for n in expected if "conv" in n]
    box.fill("")
    assert len(visible_layer_names(loaded.page)) == len(report.layers)
    assert loaded.page.locator("svg g.az-node.az-dim").count() == 0


def test_switching_the_colour_metric_recolours_the_nodes(loaded, report):
    page = loaded.page
    page.wait_for_selector("svg g.az-node")
    assert page.locator("select.az-metric").input_value() == "macs"
    by_macs = fills(page)
    macs = [row.values.get("macs") or 0 for row in report.layers]
    assert by_macs[macs.index(max(macs))] == TOP
    assert all(f == NONE for f, m in zip(by_macs, macs, strict=True) if m == 0)
    page.select_option("select.az-metric", f"bound@{DEVICE}")
    by_bound = fills(page)
    assert by_bound != by_macs
    bound = {layer["name"]: layer["bound"] for layer in report.device(DEVICE).layers}
    colour = {}
    for row, fill in zip(report.layers, by_bound, strict=True):
        colour.setdefault(bound[row.name], set()).add(fill)
    assert all(len(c) == 1 for c in colour.values())  # one colour per bound, a different one each
    assert len({next(iter(c)) for c in colour.values()}) == len(colour)
    page.select_option("select.az-metric", f"latency_s@{DEVICE}")
    latency = [bound_row["latency_s"] for bound_row in report.device(DEVICE).layers]
    assert fills(page)[latency.index(max(latency))] == TOP
    assert loaded.errors == []


def test_the_colour_choices_are_the_python_sides(loaded, report):
    from analyzer.plugins.reporters.html_graph import colour_metrics

    loaded.page.wait_for_selector("svg g.az-node")
    shown = loaded.page.eval_on_selector_all(
        "select.az-metric option", "os => os.map(o => [o.parentElement.label, o.value, o.textContent])"
    )
    metrics, _ = colour_metrics(report)
    assert shown == [[m["group"], m["key"], m["label"]] for m in metrics]


def test_column_groups_switch_off_and_on(loaded):
    header = loaded.page.locator("table.az-layers thead th", has_text=f"latency @ {DEVICE}")
    cell_of_header = (
        loaded.page.locator("table.az-layers tbody tr")
        .first.locator("td")
        .nth(
            loaded.page.eval_on_selector_all(
                "table.az-layers thead th",
                f"hs => hs.findIndex(h => h.textContent === 'latency @ {DEVICE}')",
            )
        )
    )
    assert header.is_visible() and cell_of_header.is_visible()
    box = loaded.page.get_by_label("hardware", exact=True)
    box.uncheck()
    assert not header.is_visible() and not cell_of_header.is_visible()
    box.check()
    assert header.is_visible() and cell_of_header.is_visible()


def test_the_module_tree_folds(loaded, report):
    page = loaded.page
    child = page.locator('table.az-modules tr[data-path="block1.conv1"]')
    parent = page.locator('table.az-modules tr[data-path="block1"]')
    assert parent.is_visible() and not child.is_visible()  # folded below depth 1 at first
    parent.locator("button.az-fold").click()
    assert child.is_visible()
    block1 = next(m for m in report.modules() if m.path == "block1")
    assert common.fmt(block1.values["macs"]) in parent.inner_text()
    parent.locator("button.az-fold").click()
    assert not child.is_visible()


def test_a_large_table_turns_pages_and_a_node_finds_its_row(browser, report, tmp_path):
    path = tmp_path / "paged.html"
    path.write_text(render_html(report, page_rows=4), encoding="utf-8")
    loaded = Loaded(browser, path.as_uri())
    try:
        page = loaded.page
        names = [row.name for row in report.layers]
        assert visible_layer_names(page) == names[:4]
        page.locator("button.az-next").click()
        assert visible_layer_names(page) == names[4:8]
        assert (
            page.locator("section#layers .az-count").inner_text()
            == f"{len(names)} of {len(names)} layers, rows 5–8"
        )
        header = page.locator("table.az-layers thead th[title^='macs (']")
        header.click()
        header.click()  # descending: the first page holds the four largest, from every page
        macs = {row.name: row.values.get("macs") or 0 for row in report.layers}
        assert [macs[n] for n in visible_layer_names(page)] == sorted(macs.values(), reverse=True)[
            :4
        ]
        last = len(names) - 1  # the head: on the last page of the sorted table (no MACs... or few)
        page.locator(f'svg g.az-node[data-node="{last}"]').click()
        row = page.locator(f'table.az-layers tr[data-i="{last}"]')
        assert row.is_visible() and "az-picked" in (row.get_attribute("class") or "")
        assert loaded.errors == []
    finally:
        loaded.page.close()


def test_the_notebook_fragment_works_on_its_own(browser, report):
    frag = Loaded(
        browser,
        content=f"<!DOCTYPE html><html><body>{render_html(report, compact=True)}</body></html>",
    )
    try:
        page = frag.page
        assert page.locator("svg g.az-node").count() == 0
        page.locator("summary", has_text="Layers").click()
        page.locator("table.az-layers thead th[title^='macs (']").click()
        macs = sorted(row.values.get("macs") or 0 for row in report.layers)
        names = visible_layer_names(page)
        assert [report.layer(n).values.get("macs") or 0 for n in names] == macs
        assert frag.errors == []
        assert all(u.startswith(("about:", "data:")) for u in frag.requests)
    finally:
        frag.page.close()


def test_the_comparison_page_loads_and_sorts(browser, tmp_path):
    from analyzer import zoo
    from analyzer.plugins.reporters.html import render_comparison_html

    c = analyzer.compare(
        [zoo.alexnet(), zoo.tiny_cnn()], labels=["alexnet", "tiny_cnn"], devices=[DEVICE]
    )
    path = tmp_path / "compare.html"
    path.write_text(render_comparison_html(c), encoding="utf-8")
    loaded = Loaded(browser, path.as_uri())
    try:
        page = loaded.page
        assert loaded.errors == [] and loaded.requests == [path.as_uri()]
        macs = page.locator("table.az-totals tr", has_text=re.compile(r"^macs")).first.inner_text()
        assert (
            f"{c.reports[0].totals['macs']:,}" in macs
            and f"{c.reports[1].totals['macs']:,}" in macs
        )
        rows = page.locator("table.az-layers tbody tr")
        assert rows.count() == len(c.layers())
        page.locator(
            "table.az-layers thead th", has_text="alexnet"
        ).first.click()  # a text column sorts too
        firsts = page.eval_on_selector_all(
            "table.az-layers tbody tr", "rs => rs.map(r => r.cells[0].textContent)"
        )
        assert firsts == sorted(firsts, key=lambda t: (t == "" or t == "-", t.lower()))
    finally:
        loaded.page.close()


def test_chosen_columns_start_shown_and_a_group_brings_back_the_rest(browser, report, tmp_path):
    path = tmp_path / "columns.html"
    path.write_text(render_html(report, columns=["macs"]), encoding="utf-8")
    loaded = Loaded(browser, path.as_uri())
    try:
        page = loaded.page
        visible = "hs => hs.filter(h => h.offsetParent !== null).map(h => h.title.split(' ')[0] || h.textContent)"
        assert page.eval_on_selector_all("table.az-layers thead th", visible) == [
            "#",
            "layer",
            "op",
            "output",
            "macs",
        ]
        group = quantity_info(report.quantities, "params")["group"]
        page.get_by_label(group, exact=True).check()
        shown = page.eval_on_selector_all("table.az-layers thead th", visible)
        assert "params" in shown and "macs" in shown
        assert loaded.errors == []
    finally:
        loaded.page.close()


def test_node_tooltips_read_as_the_text_formats(loaded, report):
    """The page's own number formatting (tooltips, legend) agrees with common.human/human_bytes/show."""
    page = loaded.page
    page.wait_for_selector("svg g.az-node")
    titles = "gs => gs.map(g => g.querySelector('title').textContent.split('\\n')[1])"
    label = quantity_info(report.quantities, "macs")["label"]
    expected = [
        f"{label}: {common.human(row.values.get('macs') or 0)} MAC" for row in report.layers
    ]
    assert page.eval_on_selector_all("svg g.az-node", titles) == expected
    page.select_option("select.az-metric", "activation_bytes")
    expected = [f"activation bytes (read + written): {common.human_bytes(row.read_bytes + row.write_bytes)}"
                for row in report.layers]  # fmt: skip
    assert page.eval_on_selector_all("svg g.az-node", titles) == expected
    page.select_option("select.az-metric", f"latency_s@{DEVICE}")
    hw = {layer["name"]: layer["latency_s"] for layer in report.device(DEVICE).layers}
    expected = [
        f"latency on {DEVICE}: {common.show(hw[row.name], {'format': 'seconds'})}"
        for row in report.layers
    ]
    assert page.eval_on_selector_all("svg g.az-node", titles) == expected


# --- the script's tables are the Python side's -------------------------------------------
# Values the page's script must write exactly as html_values does: ties that toFixed rounds the
# other way (0.125, 2.5, 1125 bytes), the edges of each unit, negative and huge numbers, text.
TIES = [0.125, 2.5, 0.5, 1.5, 12344.5, 12345.5, 0.0625, 1.0005, 99.95, 999.5, 9999.5, 1e-5, 1.2345e-7, -0.0]
BYTES = [0, 1, 999, 1000, 1125, 1536, 999_499, 999_500, 999_999, 1_048_576, 1_073_741_824, 10**15, 2**53]


def _quantity(fmt: str, unit: str = "", digits: int = 4, aggregate: str = "sum") -> dict[str, object]:
    return {"unit": unit, "convention": f"test {fmt}", "metric": "test", "aggregate": aggregate, "per_layer": True,
            "label": f"t {fmt}", "display": "column", "format": fmt, "group": "test", "digits": digits,
            "complete": True}  # fmt: skip


def crafted_report() -> analyzer.Report:
    """ResNet-50's report with quantities of every format the script writes, and some it leaves
    to the Python side (NaN, integers beyond 2**53, bools, ints mixed with floats, marks)."""
    import json
    import random

    from analyzer import zoo
    from analyzer.core.report import Report

    doc = json.loads(analyzer.analyze(zoo.resnet50(), devices=[DEVICE]).to_json())
    rng = random.Random(7)
    columns = {
        "t_count_f": (_quantity("count"), lambda i: rng.choice(TIES) * 10 ** rng.randint(-3, 6)),
        "t_bytes": (_quantity("bytes", "byte"), lambda i: BYTES[i % len(BYTES)] if i < 40 else rng.randint(0, 10**13)),
        "t_bytes_f": (_quantity("bytes", "byte"), lambda i: rng.uniform(0, 2e9)),
        "t_ratio": (_quantity("ratio", "x", 3), lambda i: TIES[i % len(TIES)] if i < 30 else rng.uniform(-50, 5000)),
        "t_float": (_quantity("float", "", 5), lambda i: 10 ** rng.uniform(-30, 20) * rng.choice((1, -1))),
        "t_seconds": (_quantity("seconds", "s"), lambda i: 10 ** rng.uniform(-12, 2)),
        "t_joules": (_quantity("joules", "J"), lambda i: 0.0 if i % 17 == 0 else 10 ** rng.uniform(-10, 1)),
        "t_rate": (_quantity("rate", "1/s"), lambda i: 10 ** rng.uniform(-2, 9)),
        "t_neg": (_quantity("count"), lambda i: rng.randint(-(2**53), 2**40) if i % 3 else None),
        "t_text": (_quantity("text"), lambda i: ["a<b", "x & y", 'say "hi"', "it's", None, 12345, -7][i % 7]),
        "t_dims": (_quantity("int", aggregate="none"), lambda i: [rng.randint(1, 5000), rng.randint(1, 50)]),
        "t_huge": (_quantity("count"), lambda i: 2**60 + i),
        "t_nan": (_quantity("float"), lambda i: float("nan") if i == 3 else float(i)),
        "t_bool": (_quantity("count"), lambda i: i % 2 == 0),
        "t_mixed": (_quantity("count"), lambda i: i if i % 2 else i + 0.5),
        "t_marked": (_quantity("count"), lambda i: i * 1000),
    }
    for key, (info, value) in columns.items():
        doc["quantities"][key] = info
        for i, layer in enumerate(doc["layers"]):
            layer[key] = value(i)
    for layer in doc["layers"][::7]:  # an incomplete value: marked (written by the Python side)
        layer["incomplete"] = {"t_marked": "lower"}
    totals = {"t_count_f": 12344.5, "t_bytes": 1125, "t_bytes_f": 999_500.0, "t_ratio": 2.5, "t_float": 1e-95,
              "t_seconds": 0.0125, "t_joules": 0.0, "t_rate": 12_345.5, "t_neg": -(2**40), "t_text": "a<b",
              "t_dims": [3, 4], "t_huge": 2**60, "t_nan": float("nan"), "t_bool": True, "t_mixed": 1234.0,
              "t_marked": 999_999_999, "t_undeclared": 7}  # fmt: skip  (the last: no metadata)
    doc["totals"].update(totals)
    doc["completeness"].setdefault("quantities", {}).update(
        {"t_marked": {"bound": "lower"}, "t_ratio": {"bound": "unknown"}, "t_text": {"bound": "upper"}}
    )
    return Report.from_dict(doc)


def stored_report() -> analyzer.Report:
    """ResNet-50 analysed with a metric giving its values by column: the report stores them as
    int64 and float64 arrays, which reach the page as their bytes (html_values.script_column)."""
    import random

    from analyzer import zoo
    from analyzer.core.hookspecs import hookimpl
    from analyzer.core.metric import Metric, MetricResult, Quantity
    from analyzer.core.plugins import load_plugins

    class Stored(Metric):
        name = "stored"
        quantities = (
            Quantity("s_big", "element", "int64 counts beyond 2**53"),
            Quantity("s_bytes", "byte", "byte sizes", format="bytes"),
            Quantity("s_ratio", "x", "ties and signs", format="ratio", digits=3),
            Quantity("s_seconds", "s", "times", format="seconds"),
            Quantity("s_zero", "element", "one value throughout"),
            Quantity("s_same", "byte", "the byte sizes again", format="bytes"),
        )

        def compute(self, ctx):
            rng = random.Random(11)
            n = len(ctx.layers)
            sizes = [BYTES[i % len(BYTES)] if i < 30 else rng.randint(0, 2**53) for i in range(n)]
            columns = {
                "s_big": [rng.choice((1, -1)) * rng.randint(0, 2**62) if i % 2 else i for i in range(n)],
                "s_bytes": sizes,
                "s_ratio": [TIES[i % len(TIES)] if i < 40 else rng.uniform(-1e6, 1e6) for i in range(n)],
                "s_seconds": [0.0 if i % 9 == 0 else 10 ** rng.uniform(-11, 3) for i in range(n)],
                "s_zero": [0] * n,
                "s_same": list(sizes),
            }
            return MetricResult(layers=ctx.columns(columns))

    class Plugin:
        @hookimpl
        def analyzer_register_metrics(self, register):
            register(Stored())

    plugins = load_plugins(entry_points=False, extra=[Plugin()])
    return analyzer.analyze_graph(zoo.resnet50(), plugins=plugins)


CELLS = """rows => rows.map(r => [r.className, r.getAttribute('data-search'), r.getAttribute('data-path'),
  Array.from(r.cells).map(c => [c.innerHTML, c.getAttribute('data-v')])])"""


def _tables(page) -> dict[str, list]:
    return {t: page.eval_on_selector_all(f"table.{t} tbody tr", CELLS) for t in ("az-totals", "az-conventions-table", "az-layers", "az-modules")}


def _same_cells(drawn: list, written: list) -> None:
    """The rows the script drew are those written in Python: the same text and attributes; a
    ``data-v`` (the raw value for sorting) reads as the same number."""
    assert len(drawn) == len(written) > 0
    for got, want in zip(drawn, written, strict=True):
        assert got[:3] == want[:3]
        assert [c[0] for c in got[3]] == [c[0] for c in want[3]]
        for (text, a), (_, b) in zip(got[3], want[3], strict=True):
            assert (a is None) == (b is None) and (a is None or float(a) == float(b)), (text, a, b)


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("made", [crafted_report, stored_report])
def test_the_script_draws_every_cell_as_the_python_side_writes_it(browser, tmp_path, binary, made):
    report = made()
    path = tmp_path / "crafted.html"
    path.write_text(render_html(report, binary_units=binary, columns=["all"], depth=9), encoding="utf-8")
    full = Loaded(browser, path.as_uri())
    frag = Loaded(browser, content="<!DOCTYPE html><html><body>"
                  f"{render_html(report, compact=True, binary_units=binary, columns=['all'], depth=9)}</body></html>")  # fmt: skip
    try:
        drawn, written = _tables(full.page), _tables(frag.page)
        for table in ("az-totals", "az-conventions-table", "az-layers", "az-modules"):
            _same_cells(drawn[table], written[table])
        for part in ("table.az-layers thead", ".az-groups", "table.az-modules thead"):  # headers, group switches
            assert full.page.inner_html(part) == frag.page.inner_html(part), part
        assert full.errors == [] and frag.errors == []
    finally:
        full.page.close()
        frag.page.close()


def test_without_javascript_the_page_says_its_tables_need_it(browser, html_file, report):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(html_file.as_uri())
        notice = page.locator("noscript p.az-warn")
        assert "draws its tables with JavaScript" in page.content() and notice.count() == 1
        assert page.locator("table.az-totals tbody tr").count() == 0  # the data is there, undrawn
        assert report.model["name"] in page.locator("p.az-model").inner_text()  # what is written reads
    finally:
        context.close()
