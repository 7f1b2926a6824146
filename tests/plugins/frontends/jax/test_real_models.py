"""Real-world JAX model styles (issue 14): exact params and MACs, complete totals.

Models in ``real_models.py``: Flax linen transformers under ``nn.scan`` (and ``nn.remat``
+ ``nn.scan``), a Flax NNX transformer scanned over ``nnx.vmap``-stacked layers, an
Equinox transformer with ``eqx.filter_vmap``-stacked blocks under ``lax.scan``, a Flax
ResNet with BatchNorm called HF-Flax style with a ``{'params', 'batch_stats'}`` variables
dict, and a plain-JAX LLM (RMSNorm, gated MLP, grouped-query attention) with stacked
weights under ``lax.scan``. References: parameters are the sums of the framework's own
leaf sizes (``params`` and ``batch_stats`` apart), MACs the analytic per-layer formulas
written beside each model.
"""

from __future__ import annotations

import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("flax")
pytest.importorskip("equinox")

import real_models as rm  # noqa: E402

from analyzer import analyze  # noqa: E402


def run(case: rm.Case):
    return analyze(
        case.model,
        case.inputs,
        params=case.params,
        framework=case.framework,
        frontend_options=case.frontend_options,
    )


@pytest.mark.parametrize("name", list(rm.CASES))
def test_params_and_macs_are_exact_and_complete(name):
    case = rm.CASES[name]()
    report = run(case)
    assert report.totals["params"] == case.ref_params
    assert report.totals["non_trainable_params"] == case.ref_non_trainable
    assert report.totals["macs"] == case.ref_macs
    assert report.unsupported == [] and report.complete
    assert not report.warnings


def test_scanned_layers_repeat_their_body():
    """A scan of length L counts its body L times: L layers scanned = L layers unrolled."""
    one = rm.linen_scan_case()
    model = rm.LinenScanLM(layers=1)
    single = analyze(model, one.inputs)
    scanned = run(one)
    per_layer = rm.transformer_macs(2, 16, model.d, 1, model.ff, model.vocab) - 2 * 16 * 32 * 256
    assert scanned.totals["macs"] - single.totals["macs"] == 2 * per_layer
    assert {n.repeat for n in scanned.graph.nodes() if n.op in ("linear", "dot_general")} == {1, 3}


def test_remat_changes_nothing_at_inference():
    plain, remat = run(rm.linen_scan_case()), run(rm.linen_scan_case(remat=True))
    for key in ("params", "macs", "flops", "total_activations"):
        assert plain.totals[key] == remat.totals[key], key


def test_scanned_layer_norms_are_one_op():
    """Flax's LayerNorm holds ``jnp.maximum(0., var)``: inside nn.scan it is still a layer_norm."""
    report = run(rm.linen_scan_case())
    norms = [n for n in report.graph.nodes() if n.op == "layer_norm"]
    assert len(norms) == 3  # two per scanned block (repeat 3) and the final one
    assert sorted(n.repeat for n in norms) == [1, 3, 3]
    assert not [n for n in report.graph.nodes() if n.op == "relu"]


def test_hf_variables_dict_matches_the_module_path():
    """``apply_fn(variables, x)`` and ``model.apply`` + ``train=False`` give the same report."""
    fn, bound = run(rm.hf_resnet_case()), run(rm.hf_resnet_case(bound_apply=True))
    for key in ("params", "non_trainable_params", "macs", "flops", "total_activations"):
        assert fn.totals[key] == bound.totals[key], key
    norms = [n for n in fn.graph.nodes() if n.op == "batch_norm"]
    assert norms and all(n.attrs["training"] is False for n in norms)


def test_llm_matches_its_unscanned_self():
    """The stacked-weight LLM under lax.scan = the same layers applied one by one."""
    c = rm.LLMConfig()
    case = rm.llm_case(c)

    def unrolled(params, ids):
        x = params["embed"][ids]
        for i in range(c.layers):
            x = rm.llm_layer(c, x, jax.tree_util.tree_map(lambda w, i=i: w[i], params["layers"]))
        return rm.rms_norm(x, params["final_norm"]) @ params["head"]

    scanned = run(case)
    loop = analyze(unrolled, case.inputs, params=case.params, framework="jax")
    assert scanned.totals["macs"] == loop.totals["macs"] == case.ref_macs
    assert scanned.totals["params"] == loop.totals["params"]


@pytest.mark.parametrize(
    ("case", "stack"), [(rm.eqx_scan_case, "blocks"), (rm.nnx_scan_case, "layers")]
)
def test_scanned_module_copies_are_layers_of_the_stacked_module(case, stack):
    """Inside the scan each step's block is a new module object (``eqx.combine`` of a weight
    slice, ``nnx.scan``'s per-step module): its calls take the stacked module's paths."""
    report = run(case())
    names = {row.name for row in report.layers}
    assert {f"{stack}.{m}" for m in ("ln1", "attn", "ln2", "up", "down")} <= names
    norms = [n for n in report.graph.nodes() if n.op == "layer_norm"]
    assert sorted(n.repeat for n in norms) == [1, 3, 3]
    assert report.layer(f"{stack}.attn").values["params"] == 3 * (4 * 32 * 32 + 4 * 32)


def test_linen_and_equinox_transformers_agree():
    """One architecture written in Flax linen (nn.scan) and Equinox (lax.scan): same counts."""
    linen, eqx = run(rm.linen_scan_case(b=1)), run(rm.eqx_scan_case())
    for key in ("params", "macs", "flops"):
        assert linen.totals[key] == eqx.totals[key], key


def test_partitioned_params_under_remat_scan():
    """t5x/MaxText style: nn.with_partitioning boxes, nn.remat + nn.scan with a partition name."""
    import flax.linen as nn

    part = nn.with_partitioning

    class Block(nn.Module):
        @nn.compact
        def __call__(self, x, _):
            norm = nn.LayerNorm(
                scale_init=part(nn.initializers.ones, ("embed",)),
                bias_init=part(nn.initializers.zeros, ("embed",)),
            )
            h = nn.Dense(64, kernel_init=part(nn.initializers.lecun_normal(), ("embed", "mlp")))
            out = nn.Dense(32, kernel_init=part(nn.initializers.lecun_normal(), ("mlp", "embed")))
            return x + out(nn.relu(h(norm(x)))), None

    class Stack(nn.Module):
        @nn.compact
        def __call__(self, x):
            scan = nn.scan(
                nn.remat(Block), variable_axes={"params": 0}, split_rngs={"params": True},
                length=3, metadata_params={nn.PARTITION_NAME: "layers"},
            )  # fmt: skip
            return scan()(x, None)[0]

    model, x = Stack(), rm.S((2, 8, 32), rm.F32)
    variables = jax.eval_shape(model.init, jax.random.key(0), x)
    for report in (analyze(model, x), analyze(model, x, params=variables)):
        assert report.totals["params"] == rm.leaf_size(variables["params"])
        assert report.totals["macs"] == 3 * 2 * 8 * (32 * 64 + 64 * 32) and report.complete
        roles = {
            n.rsplit(".", 2)[-2]: p.role for n, p in report.graph.params.items() if "Norm" in n
        }
        assert roles == {"scale": "scale", "bias": "shift"}


@pytest.mark.parametrize("case", [rm.linen_scan_case, rm.eqx_scan_case, rm.nnx_scan_case])
def test_scanned_stacked_weights_are_read_once(case):
    """Each step of a scan over stacked layers reads its own slice: one inference reads every
    weight once (traffic's ``param_slices``), not the whole stack on every step."""
    report = run(case())
    assert report.totals["weight_read_bytes"] == report.totals["model_size_bytes"]
    marked = [n for n in report.graph.nodes() if n.attrs.get("param_slices")]
    assert marked and all(set(n.attrs["param_slices"].values()) == {3} for n in marked)
