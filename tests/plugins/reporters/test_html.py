"""``--format html`` without a browser: a self-contained page whose numbers are the report's.

The browser checks (sorting, filtering, recolouring) are in test_html_browser.py.
"""

from __future__ import annotations

import base64
import html
import json
import re
from array import array
from html.parser import HTMLParser

import pytest

import analyzer
from analyzer import GraphBuilder, zoo
from analyzer.cli import main
from analyzer.core.plugins import default_plugins
from analyzer.core.report import quantity_info
from analyzer.plugins.reporters import common
from analyzer.plugins.reporters.html import Plot, render_comparison_html, render_html
from analyzer.plugins.reporters.html_graph import colour_metrics, graph_view, layer_edges
from analyzer.plugins.reporters.html_values import show

VOID = {
    "meta",
    "input",
    "br",
    "img",
    "hr",
    "link",
    "col",
    "wbr",
    "source",
    "path",
    "rect",
    "circle",
    "line",
}


class Page(HTMLParser):
    """Collects tags, attributes and text; fails on a closing tag that closes nothing open."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.errors: list[str] = []
        self.rows: dict[str, list[str]] = {}  # totals row data-q -> cell texts
        self._row: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "tr" and "data-q" in a:
            self._row = a["data-q"]
            self.rows[self._row] = []
        if tag == "td" and self._row is not None:
            self._cell = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if tag not in self.stack:
            self.errors.append(f"</{tag}> closes nothing")
            return
        while self.stack.pop() != tag:  # implicitly closed elements (none expected)
            self.errors.append(f"<{tag}> closed an inner element")
        if tag == "td" and self._cell is not None and self._row is not None:
            self.rows[self._row].append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(text: str) -> Page:
    p = Page()
    p.feed(text)
    p.close()
    return p


@pytest.fixture(scope="module")
def report():
    return analyzer.analyze(zoo.tiny_cnn(), devices=["stm32f746", "a100-sxm-80gb"])


@pytest.fixture(scope="module")
def page(report) -> str:
    return render_html(report)


def residual() -> analyzer.Graph:
    """stem -> a -> b -> add(stem, b) -> head: one skip edge from the stem to the add."""
    b = GraphBuilder("residual")
    x = b.input("x", (1, 8))
    s = b.linear(x, 8, name="stem")
    y = b.linear(s, 8, name="a")
    y = b.linear(y, 8, name="b")
    y = b.add(s, y, name="join")
    b.linear(y, 2, name="head")
    return b.build()


def test_the_format_is_a_builtin_plugin():
    assert default_plugins().reporter("html").suffix == ".html"


def test_page_is_well_formed_and_self_contained(page):
    assert page.startswith("<!DOCTYPE html>")
    p = parse(page)
    assert p.errors == [] and p.stack == []
    for tag, attrs in p.tags:
        for key in ("src", "href", "action", "data", "xlink:href"):
            value = attrs.get(key) or ""
            assert not re.match(r"\s*(https?:)?//", value), (
                f"<{tag} {key}={value!r}> reaches the network"
            )
        assert not (tag == "link" and attrs.get("rel") == "stylesheet"), "stylesheets are inlined"
        assert not (tag == "script" and "src" in attrs), "scripts are inlined"
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page
    csp = next(
        a["content"]
        for t, a in p.tags
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    assert "default-src 'none'" in csp  # the browser itself refuses any request


def test_totals_are_the_reports(report, page):
    rows = parse(render_html(report, compact=True)).rows  # as written here; the script draws the same (browser test)
    keys = [row[0] for row in blob(page)["totals"]]  # the page's script draws every total
    assert set(keys) == {k for k, v in report.totals.items() if v is not None}
    shown = {k: v for k, v in report.totals.items() if v is not None}
    assert set(rows) == set(shown)
    for key, value in shown.items():  # as the text formats show them
        info = quantity_info(report.quantities, key)
        assert rows[key][1] == common.show_exact(value, info), key
        assert rows[key][2] == common.show_human(value, info), key
    assert rows["macs"][1] == f"{report.totals['macs']:,}"
    assert rows["macs"][2] == common.human(report.totals["macs"])
    assert rows["model_size_bytes"][2] == common.human_bytes(report.totals["model_size_bytes"])
    for key, cells in rows.items():
        assert cells[4] == report.quantities[key]["convention"]  # every total states its convention


def blob(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" class="az-data">(.*?)</script>', page, re.S).group(1))


def script_values(table: dict, key: str) -> list:
    """A column of the page's layer or module table as the page's script reads it (report.js
    ``resolve``): its values, an earlier column's (``same``) or one value throughout (``k``)."""
    col = table["columns"][key if type(key) is int else table["keys"].index(key)]
    n = len(table["name"] if "name" in table else table["path"])
    if col[0] == "=":
        return script_values(table, col[4])
    if col[0] in ("q", "d"):  # a stored column: int64 or float64 bytes, base64
        return list(array(col[0], base64.b64decode(col[4])))
    assert col[0] in ("v", "k"), col
    return [col[4]] * n if col[0] == "k" else col[4]


def test_every_layer_quantity_is_a_column_with_every_layers_value(report, page):
    keys = {k for row in report.layers for k in row.values}
    assert keys <= set(blob(page)["layers"]["keys"])  # the page's script draws the header from them
    header = re.search(  # as written here (the browser test: the script draws the same)
        r'<table class="az-layers az-sortable"[^>]*><thead><tr>(.*?)</tr>', render_html(report, compact=True)
    ).group(1)
    titles = re.findall(r'title="([^"]*)"', header)
    for key in keys:
        assert any(t.startswith(f"{key} (") or t == key for t in titles), key
    for device in ("stm32f746", "a100-sxm-80gb"):  # per-device latency and bound columns
        assert f"latency @ {device}" in header and f"bound @ {device}" in header
    # the page's script draws the rows from the page's data: every layer's every value
    table = blob(page)["layers"]
    assert table["name"] == [row.name for row in report.layers]
    for key in keys:
        assert script_values(table, key) == report.layer_column(key), key
    # the cells as the Python side writes them (the notebook form; the browser test checks the
    # script draws the same)
    frag = render_html(report, compact=True)
    conv1 = report.layer("conv1")
    row = re.search(r'<tr data-i="0"[^>]*>(.*?)</tr>', frag).group(1)
    assert f"<td>{common.fmt(conv1.macs)}</td>" in row  # exact integers sort from their text
    weight_bytes = conv1.values["weight_bytes"]  # a byte size reads "5.25 kB": its raw value is kept
    assert f'<td data-v="{weight_bytes}">{common.human_bytes(weight_bytes)}</td>' in row
    rf = conv1.values["receptive_field"]  # per dim: reads 10x4, sorts by its largest
    assert f'<td data-v="{max(rf)}">{"x".join(map(str, rf))}</td>' in row


def test_values_the_script_could_misread_are_written_here():
    """NaN, integers beyond 2**53, bools and ints mixed with floats reach the page as cells."""
    from analyzer.plugins.reporters.html_values import script_column, script_holds

    info = {"format": "count"}
    assert script_column([1, 2**53, None, "x"], info)[:2] == ["v", "i"]
    assert script_column([0.5, None], info)[:2] == ["v", "r"]
    # a stored column: its bytes; an exact count of any int64 (the script reads a BigInt)
    assert script_column(array("q", [1, 2**62]), info)[:2] == ["q", "i"]
    assert script_column(array("q", [1, 2**62]), {"format": "bytes"})[0] == "h"  # beyond a float's integers
    assert script_column(array("d", [0.5, -1e20, -0.0]), info)[:2] == ["d", "r"]
    assert script_column(array("d", [0.5, float("nan")]), info)[0] == "h"
    for values in ([2**53 + 1], [float("nan")], [float("inf")], [True], [1, 2.5], [1e21], [1e-95], [[]]):
        spec = script_column(values, info)
        assert spec[0] == "h" and "<td" in spec[1][0], values
    assert script_column([1], {"format": "percent"})[0] == "h"  # a format the script does not know
    # one value (a total): the same bounds
    assert all(map(script_holds, [0, -(2**53), 2**53, 0.0, -0.0, 1e-90, -9.9e20]))
    assert not any(map(script_holds, [2**53 + 1, 1e21, 1e-91, float("nan"), float("inf"), True, "1", None]))
    assert script_column([1, 2], info, marks=[{"x": "lower"}, {}], key="x")[0] == "h"  # a marked value


def test_a_huge_table_is_cut_with_a_notice(report):
    from analyzer.plugins.reporters.html import _layer_columns, _layers_table

    text = _layers_table(report, _layer_columns(report), max_rows=3)
    assert text.count("<tr data-i=") == 3
    assert f"first 3 of {len(report.layers)} layers; --format csv or json" in text
    script: dict = {}
    text = _layers_table(report, _layer_columns(report), max_rows=3, script=script)
    assert "<tr data-i=" not in text and len(script["layers"]["name"]) == 3
    assert f"first 3 of {len(report.layers)} layers" in text


def test_module_tree_holds_every_rollup(report, page):
    modules = report.modules()
    table = blob(page)["modules"]
    assert table["path"] == [m.path for m in modules] and table["depth"] == [m.depth for m in modules]
    assert table["layers"] == [m.layers for m in modules]
    assert table["keys"] == common.select_columns(report, None)
    for key in table["keys"]:
        assert script_values(table, key) == [m.values.get(key) for m in modules], key
    frag = render_html(report, compact=True)
    for m in modules:
        assert f'data-path="{m.path}"' in frag


def test_hardware_results_per_device(report, page):
    section = page.split('id="hardware"', 1)[1]
    for r in report.hardware:
        assert f"<td>{r.device}</td>" in section
        assert f"{common.plain(r.latency_s * 1e3)} ms" in section
    for r in report.hardware:  # every figure a prediction used, with its source
        for key, figure in r.details["figures"].items():
            assert f'<td>{key}</td><td class="num">{common.plain(figure["value"])}</td>' in section
            assert html.escape(figure["source"]) in section
    for line in common.hardware_notes(report):
        assert line.replace("&", "&amp;") in section.replace("&#x27;", "'")


def test_graph_edges_follow_the_ir():
    r = analyzer.analyze(residual())
    idx = {row.name: i for i, row in enumerate(r.layers)}
    expected = {("stem", "a"), ("a", "b"), ("stem", "join"), ("b", "join"), ("join", "head")}
    assert layer_edges(r) == {(idx[a], idx[b]) for a, b in expected}
    view = graph_view(r, {})
    rank = dict(zip(view["nodes"]["label"], view["nodes"]["rank"], strict=True))
    assert rank == {"stem": 0, "a": 1, "b": 2, "join": 3, "head": 4}  # longest path from the input
    assert view["notice"] == ""


def test_graph_collapses_beyond_the_limit_and_keeps_every_layer():
    r = analyzer.analyze(zoo.resnet50())
    _, values = colour_metrics(r)
    view = graph_view(r, values, limit=30)
    nodes = view["nodes"]
    assert len(nodes["rank"]) <= 30 and "collapsed" in view["notice"]
    assert len(nodes["label"]) == len(nodes["op"]) == len(nodes["x"]) == len(nodes["layers"]) == len(nodes["rank"])
    members = [i for layers in nodes["layers"] for i in (layers if isinstance(layers, list) else [layers])]
    assert sorted(members) == list(range(len(r.layers)))
    assert sum(v for v in view["values"]["macs"] if v) == r.totals["macs"]  # MACs of a group add up
    for a, b in view["edges"]:
        if a < b:
            assert nodes["rank"][b] > nodes["rank"][a]
    assert "collapsed" in render_html(r, graph_limit=30)


def test_colour_metrics_offer_macs_latency_activation_bytes_and_bound(report):
    metrics, values = colour_metrics(report)
    keys = [m["key"] for m in metrics]
    for key in (
        "macs",
        "latency_s@stm32f746",
        "activation_bytes",
        "bound@stm32f746",
        "bound@a100-sxm-80gb",
    ):
        assert key in keys
    conv1 = report.layer("conv1")
    i = report.layers.index(conv1)
    assert values["macs"][i] == conv1.macs
    assert values["activation_bytes"][i] == conv1.read_bytes + conv1.write_bytes
    hw = {layer["name"]: layer for layer in report.device("stm32f746").layers}
    assert values["latency_s@stm32f746"][i] == hw["conv1"]["latency_s"]
    assert values["bound@stm32f746"][i] == hw["conv1"]["bound"]


def test_the_data_blob_cannot_end_its_script_element():
    b = GraphBuilder("evil</script><b>")
    b.linear(b.input("x", (1, 4)), 2, name="fc</script>")
    page = render_html(analyzer.analyze(b.build()))
    blob = re.search(
        r'<script type="application/json" class="az-data">(.*?)</script>', page, re.S
    ).group(1)
    assert json.loads(blob)["layers"]["name"] == ["fc</script>"]  # the graph's nodes take the table's names
    assert parse(page).errors == []


def test_plots_are_embedded_inline():
    svg = '<?xml version="1.0"?>\n<svg viewBox="0 0 10 10"><rect width="5" height="5"/></svg>'
    png = b"\x89PNG\r\n\x1a\nfake"
    page = render_html(
        analyzer.analyze(residual()),
        plots=[Plot("Roofline", svg), Plot("Bars", png, "png", "per layer")],
    )
    plots = page.split('id="plots"', 1)[1]
    assert '<svg viewBox="0 0 10 10">' in plots and "<?xml" not in plots
    assert 'src="data:image/png;base64,iVBORw0KGgpmYWtl"' in plots
    assert "Roofline" in plots and "Bars: per layer" in plots
    with pytest.raises(ValueError, match="svg or png"):
        render_html(analyzer.analyze(residual()), plots=[Plot("x", "", "gif")])


def test_the_reporter_embeds_matplotlib_figures_when_given(report):
    pytest.importorskip("matplotlib")
    from analyzer.plugins.reporters.plots import html_plots

    plots = html_plots(report)
    page = default_plugins().reporter("html").render_report(report, plots=plots)
    section = page.split('id="plots"', 1)[1]
    assert len(plots) >= 2 and section.count('<figure class="az-plot"><svg') == len(plots)
    assert parse(page).errors == []


def test_incomplete_totals_carry_their_marks():
    b = GraphBuilder("opaque")
    x = b.linear(b.input("x", (1, 8)), 8, name="fc1")
    b.op("unknown", [x], (1, 8), name="odd", source_op="Mystery")
    r = analyzer.analyze(b.build())
    assert not r.complete
    page = render_html(r)
    rows = parse(render_html(r, compact=True)).rows
    for key, value in r.totals.items():
        if value is not None:
            shown = common.show_exact(value, quantity_info(r.quantities, key))
            assert rows[key][1] == common.marked(shown, r.completeness.bound(key))
    assert "INCOMPLETE" in page and "Mystery" in page


def test_compact_form_has_no_graph_and_no_document_wrapper(report):
    frag = render_html(report, compact=True)
    assert frag.startswith('<div class="az-report az-compact">') and "<html" not in frag
    assert 'class="az-graph"' not in frag and '"graph"' not in frag
    assert parse(frag).errors == []


def test_show_follows_the_quantity_format():
    assert show(1_048_576, {"unit": "byte"}) == "1.05 MB"
    assert show(0.0015, {"format": "seconds"}) == "1.5 ms"
    assert show(4.2e-6, {"format": "joules"}) == "4.2 µJ"
    assert show(3.14159, {"format": "ratio", "digits": 3}) == "3.14"
    assert show(724_406_816, {}) == "724,406,816"
    assert show(724_406_816, {}, readable=True) == "724.4M"


def test_cli_writes_html_to_output_and_renders_comparisons(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["analyze", "analyzer.zoo:tiny_cnn", "-f", "html", "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert (
        main(
            [
                "compare",
                "analyzer.zoo:alexnet",
                "analyzer.zoo:tiny_cnn",
                "-f",
                "html",
                "--device",
                "stm32f746",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    p = parse(text)
    assert p.errors == [] and "alexnet" in text and "Layers aligned across models" in text
    assert "stm32f746" in text.split('id="hardware"', 1)[1]


def test_comparison_depth_shows_module_rollups():
    c = analyzer.compare([zoo.alexnet(), zoo.tiny_cnn()], labels=["alexnet", "tiny_cnn"])
    page = render_comparison_html(c, depth=1)
    assert "alexnet: Modules (depth 1)" in page
    for m in c.reports[0].modules(1):
        assert f"{m.to_dict()['macs']:,}" in page


def test_a_report_read_back_from_json_renders_with_a_chain(report):
    from analyzer.core.report import Report

    loaded = Report.from_dict(json.loads(report.to_json()))
    assert loaded.graph is None
    assert layer_edges(loaded) == {(i - 1, i) for i in range(1, len(report.layers))}
    assert parse(render_html(loaded, compact=True)).rows == parse(render_html(report, compact=True)).rows
    assert blob(render_html(loaded))["totals"] == blob(render_html(report))["totals"]  # the same totals


def test_columns_and_binary_units_from_the_command_line(tmp_path):
    out = tmp_path / "r.html"
    assert (
        main(
            [
                "analyze",
                "analyzer.zoo:tiny_cnn",
                "-f",
                "html",
                "--columns",
                "macs",
                "--binary-units",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    page = out.read_text()
    table = blob(page)["layers"]
    shown = [k for i, k in enumerate(table["keys"]) if i not in table["hide"]]  # the others: a click away
    assert shown == ["macs"] and "params" in table["keys"]
    report = analyzer.analyze(zoo.tiny_cnn())
    header = re.search(  # as the page's script draws it (test_html_browser)
        r'<table class="az-layers az-sortable"[^>]*><thead><tr>(.*?)</tr>',
        render_html(report, compact=True, columns=["macs"]),
    ).group(1)
    assert re.findall(r'<th data-g="\d+" title="([a-z_]+) \(', header) == ["macs"]  # columns without data-hide
    assert 'data-hide="1" title="params (' in header
    assert blob(page)["binary"] is True  # the script draws byte sizes in KiB (browser test)
    assert parse(render_html(report, compact=True, binary_units=True)).rows["model_size_bytes"][2] == common.human_bytes(
        report.totals["model_size_bytes"], binary=True
    )
    assert "KiB" in common.human_bytes(report.totals["model_size_bytes"], binary=True)


def test_plot_dir_with_html_puts_the_same_figures_in_the_page(tmp_path):
    pytest.importorskip("matplotlib")
    out, plots = tmp_path / "r.html", tmp_path / "plots"
    assert (
        main(
            [
                "analyze",
                "analyzer.zoo:tiny_cnn",
                "--device",
                "stm32f746",
                "-f",
                "html",
                "--plot",
                str(plots),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    svgs = sorted(plots.glob("*.svg"))
    section = out.read_text().split('id="plots"', 1)[1]
    assert svgs and section.count('<figure class="az-plot"><svg') == len(svgs)
    for path in svgs:
        assert f"<figcaption>{path.stem}</figcaption>" in section


@pytest.mark.parametrize("text", ["", "conv1", "a & b", "<script>", 'say "hi"', "it's", "≥ 3 µs", 42, None, [1, 2]])
def test_esc_is_the_standard_escape(text) -> None:
    """``esc`` skips text with nothing to escape, and escapes the rest exactly as html.escape."""
    from analyzer.plugins.reporters.html_values import esc

    assert esc(text) == html.escape(str(text), quote=True)


def test_rows_of_text_travel_packed_unless_a_cell_holds_a_separator():
    from analyzer.plugins.reporters.html import _packed, _text_table

    rows = [("macs", "MACs", "MAC"), ("x<y", "a & b", "")]
    assert _packed(rows) == "macs\x1fMACs\x1fMAC\x1ex<y\x1fa & b\x1f"
    odd = [("a\x1fb", "c", "d"), ("e", "f\x1eg", "h")]
    assert _packed(odd) == odd  # kept as rows: the script reads them as they are
    plain = _text_table(["k", "l", "u"], rows, "t")
    assert "<tr><td>x&lt;y</td><td>a &amp; b</td><td></td></tr>" in plain
    assert "<td>a\x1fb</td>" in _text_table(["k", "l", "u"], odd, "t")
