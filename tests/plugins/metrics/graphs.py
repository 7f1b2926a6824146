"""Graph pieces several metric tests build."""

from __future__ import annotations

from analyzer import GraphBuilder


def batch_norm_with_counter(b: GraphBuilder, x: str) -> str:
    """PyTorch's BatchNorm as an op: scale and shift (trainable), running mean and var (buffers,
    non-trainable) and the int64 step counter ``num_batches_tracked`` (a buffer that is no weight)."""
    channels = b.shape(x)[1]
    ins = [
        x,
        b.param("bn.weight", (channels,), role="scale"),
        b.param("bn.bias", (channels,), role="shift"),
        b.param("bn.running_mean", (channels,), trainable=False, buffer=True, role="mean"),
        b.param("bn.running_var", (channels,), trainable=False, buffer=True, role="var"),
        b.param("bn.num_batches_tracked", (), dtype="int64", trainable=False, buffer=True, role="counter"),
    ]
    return b.op("batch_norm", ins, b.shape(x), {"channel_axis": 1}, name="bn")  # type: ignore[return-value]
