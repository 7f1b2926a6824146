"""compare(): totals side by side, layers aligned on weighted layers, differences explained."""

from __future__ import annotations

import json

import analyzer
from analyzer import GraphBuilder, zoo


def _net(*, decomposed_relu6: bool = False, dw_bias: bool = True, extra_fc: bool = False, fused_relu: bool = False,
         framework: str = "a"):  # fmt: skip
    b = GraphBuilder("net", framework=framework)
    x = b.input("x", (1, 3, 16, 16))
    x = b.conv(x, 8, 3, padding=1, name="conv1")
    if decomposed_relu6:  # JAX-style: two elementwise ops, new tensors
        x = b.elementwise("maximum", x, b.constant("zero"), name="act1")
        x = b.elementwise("minimum", x, b.constant("six"), name="act1")
    elif fused_relu:  # Keras-style: the activation inside the conv's layer
        x = b.activation("relu6", x, name="conv1")
    else:
        x = b.activation("relu6", x, name="act1")
    x = b.conv(x, 8, 3, padding=1, groups=8, bias=dw_bias, name="dw")
    x = b.relu(x, name="act2")
    x = b.global_avg_pool(x, name="pool")
    x = b.flatten(x, name="flat")
    x = b.linear(x, 10, name="fc")
    if extra_fc:
        x = b.linear(x, 10, name="fc2")
    return b.build(x)


def test_identical_models_agree_everywhere():
    c = analyzer.compare([_net(), _net(framework="b")])
    assert all(t["equal"] for t in c.totals())
    assert all(not row.differs and not row.explanation for row in c.layers())
    kinds = [(row.kind, row.layers[0]) for row in c.layers()]
    assert kinds == [("layer", ["conv1"]), ("segment", ["act1"]), ("layer", ["dw"]),
                     ("segment", ["act2", "pool", "flat"]), ("layer", ["fc"])]  # fmt: skip


def test_fused_activation_changes_nothing():
    # an activation inside the conv's layer or as a layer of its own: same totals, rows still aligned
    c = analyzer.compare([_net(), _net(fused_relu=True)], labels=["torch", "keras"])
    totals = {t["quantity"]: t for t in c.totals()}
    for q in ("params", "macs", "flops", "total_activations", "peak_activations"):
        assert totals[q]["equal"], q
    assert c.layers()[1].layers == [["act1"], []]


def test_decomposed_activation_is_explained():
    c = analyzer.compare([_net(), _net(decomposed_relu6=True)], labels=["torch", "jax"])
    totals = {t["quantity"]: t for t in c.totals()}
    assert totals["macs"]["equal"] and totals["params"]["equal"]
    # relu6 1 FLOP/elem vs maximum + minimum 2 FLOPs/elem on 8x16x16 elements
    assert totals["other_flops"]["values"][1] - totals["other_flops"]["values"][0] == 2048
    assert not totals["other_flops"]["equal"]
    row = c.layers()[1]
    assert row.kind == "segment" and "other_flops" in row.differs
    assert "ops differ (torch: relu6; jax: maximum, minimum)" in row.explanation
    assert "relu6" in totals["other_flops"]["explanation"]


def test_bias_difference_is_named():
    c = analyzer.compare([_net(), _net(dw_bias=False)], labels=["with", "without"])
    row = next(r for r in c.layers() if r.layers[0] == ["dw"])
    # every per-layer quantity is compared: the bias's parameters, its additions, and the bytes they take
    assert {"params", "mac_flops", "flops", "weight_bytes"} <= set(row.differs)
    assert not {"macs", "other_flops", "activations"} & set(row.differs)
    assert row.explanation == "bias in with only"
    totals = {t["quantity"]: t for t in c.totals()}
    assert totals["params"]["explanation"] == "bias in with only"


def test_missing_layer_gets_its_own_row():
    c = analyzer.compare([_net(), _net(extra_fc=True), _net()], labels=["a", "b", "c"])
    last = c.layers()[-1]
    assert last.layers == [[], ["fc2"], []]
    assert last.explanation == "only in b: linear layer"
    assert c.layers()[-2].layers == [["fc"], ["fc"], ["fc"]]


def test_comparison_dict_and_formats():
    c = analyzer.compare([zoo.tiny_cnn(), _net()], labels=["kws", "net"])
    doc = json.loads(json.dumps(c.to_dict()))
    assert doc["schema"] == "analyzer.comparison/1"
    assert [m["label"] for m in doc["models"]] == ["kws", "net"]
    assert {"kind", "layers", "ops", "values", "differs", "explanation"} <= set(doc["layers"][0])
    ps = analyzer.load_plugins()
    md = ps.reporter("markdown").render_comparison(c)
    assert "### Layers aligned across models" in md and "**" in md  # differences in bold
    table = ps.reporter("table").render_comparison(c)
    assert "Layers aligned across models" in table
