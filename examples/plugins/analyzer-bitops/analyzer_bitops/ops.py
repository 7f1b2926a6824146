"""A canonical op ``gated_linear`` (y = (x @ w) * sigmoid(x @ g)), its MAC formula and its torch mapping.

The PyTorch custom op ``bitops_example::gated_linear`` is defined by the user's
model code (``torch_ops.py`` here, for the example); the plugin needs only its
name, so importing the plugin never imports torch.
"""

from __future__ import annotations

from analyzer import Category, OpDef

OP = OpDef("gated_linear", Category.CONTRACTION, "y = (x @ w) * sigmoid(x @ g): two matmuls sharing x")
TORCH_OP = "bitops_example::gated_linear"


def gated_linear_macs(view) -> int:
    """Two matmuls of x (rows x k) by (k x n): 2 x rows x k x n."""
    x, w = view.in_shape(0), view.in_shape(1)
    rows = 1
    for d in x[:-1]:
        rows *= d
    return 2 * rows * x[-1] * w[-1]
