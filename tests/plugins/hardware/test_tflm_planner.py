"""TFLM's arena prediction without TFLM: the greedy planner's tie order, lifetimes, tail items.

Hand-worked cases; ``test_tflm_arena.py`` checks the same code against the
runtime itself.
"""

from __future__ import annotations

from analyzer import GraphBuilder
from analyzer.core.plugins import load_plugins
from analyzer.plugins.hardware.planner import greedy_arena
from analyzer.plugins.hardware.tflm import NODE_BYTES, tflm_arena, tflm_greedy


def test_equal_sizes_placed_in_reverse_order() -> None:
    """input 3072 B [0,1]; conv 2048 [1,2]; dw 2048 [2,4]; pw 2048 [3,4]; add 2048 [4,5].

    Forward tie order: dw at 0, pw at 2048, add at 4096 -> 6144. TFLM takes
    the 2048s last-first: add 0, pw 2048, dw 4096, and conv (alive with the
    input, 0..3072, and dw) finds no 2048 gap below 6144 -> 8192, what TFLM
    reports for this graph.
    """
    items = [(3072, 0, 1), (2048, 1, 2), (2048, 2, 4), (2048, 3, 4), (2048, 4, 5)]
    assert greedy_arena(items)[0] == 6144
    assert tflm_greedy(items) == 8192


def test_tflm_greedy_packs_disjoint_lifetimes() -> None:
    assert tflm_greedy([(100, 0, 0), (100, 1, 1), (100, 2, 2)]) == 100
    assert tflm_greedy([(100, 0, 1), (50, 1, 2), (100, 2, 3)]) == 150
    assert tflm_greedy([]) == 0


def _chain(dtype: str = "int8") -> tuple:
    b = GraphBuilder("chain", dtype=dtype)
    x = b.input("x", (1, 16, 16, 4))
    x = b.conv(x, 8, 3, padding=1, channels_last=True, name="c1")
    x = b.relu(x, name="c1")
    x = b.conv(x, 8, 1, channels_last=True, name="c2")
    g = b.build(x)
    ps = load_plugins()
    from analyzer.core.layers import group_layers

    return g, group_layers(g, ps.vocabulary)


def test_layer_graph_prediction() -> None:
    """A graph not read from a .tflite file: one TFLite operator per layer.

    Head: input 1024 B [0,1], c1 2048 [1,2], c2 2048 [2,3] (the ReLU runs in c1's
    layer): c2 (largest, last) at 0, c1 above it (alive together at step 2), the
    input below c1 once c2 is placed after it in time -> 4096.
    """
    g, layers = _chain()
    arena = tflm_arena(g, layers)
    assert arena.source == "layers" and arena.operators == 2
    assert arena.head_bytes == 4096
    assert arena.tail["node_and_registration"] == 2 * NODE_BYTES
    # two convolutions of 8 output channels: OpData 80 B + int32 multiplier and shift per channel
    assert arena.tail["kernel_data"] == 2 * (80 + 2 * 32) + 16 + 16
    assert arena.arena_bytes == arena.head_bytes + arena.tail_bytes
    assert arena.arena_bytes % 16 == 0


def test_cmsis_nn_scratch_sizes() -> None:
    """CMSIS-NN's get_buffer_size rules (DSP build) by hand, per layer of an int8 graph."""
    from analyzer.core.layers import group_layers
    from analyzer.plugins.hardware.tflm import _plan_from_layers, cmsis_nn_scratch

    b = GraphBuilder("cm", dtype="int8")
    x = b.input("x", (1, 16, 16, 3))
    x = b.conv(x, 8, 3, padding=1, channels_last=True, name="c3x3")  # 2 * align4(27) * 2 = 112
    x = b.conv(x, 8, 5, padding=2, groups=8, channels_last=True, name="dw5")  # 8 * 25 * 2 = 400
    x = b.conv(x, 8, 3, padding=1, groups=8, channels_last=True, name="dw3")  # 3x3, pad 1: none
    x = b.conv(x, 16, 1, channels_last=True, name="pw")  # 1x1: none
    x = b.avg_pool(x, 2, channels_last=True, name="pool")  # 16 channels * 4 = 64
    g = b.build(x)
    layers = group_layers(g, load_plugins().vocabulary)
    steps = _plan_from_layers(g, layers).steps
    assert [cmsis_nn_scratch(s) for s in steps] == [[112], [400], [], [], [64]]
    ref, cm = tflm_arena(g, layers), tflm_arena(g, layers, "cmsis-nn")
    assert ref.scratch_bytes == 0 and cm.scratch_bytes == 112 + 400 + 64
    assert cm.head_bytes >= ref.head_bytes


def test_file_record_survives_canonical_passes() -> None:
    """A .tflite graph is planned from the file's own operators: a PAD the analyzer folds into the
    next convolution still has its buffer in TFLM."""
    from analyzer.core.graph import Graph

    g = Graph("rec", "tflite")
    # input 1024 B -> PAD -> 1296 B -> CONV -> 2048 B; the pad and its output are gone from the graph
    g.meta["tflite"] = {"tflm": {
        "tensors": [[0, 1024], [1, 1296], [2, 2048]], "inputs": [0], "outputs": [2],
        "io_dtypes": ["int8", "int8"], "tensor_count": 5,
        "ops": [{"op": "PAD", "in": [0, 3], "out": [1], "dtype": "int8"},
                {"op": "CONV_2D", "in": [1, 4], "out": [2], "dtype": "int8", "channels": 8,
                 "quantized": True}],
    }}  # fmt: skip
    arena = tflm_arena(g)
    assert arena.source == "tflite" and arena.operators == 2
    # the padded tensor lives with the input (step 1) and with the output (step 2)
    assert arena.head_bytes == 1296 + 2048
