"""A model fed the wrong shapes is refused with PyTorch's own message (exit 1), on every path.

The meta trace's shortcuts (``shortcuts.py``) skip the meta kernels, so each
must check what the kernel checks; the expected message is what the CPU
kernel raises when the module runs for real.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import analyzer  # noqa: E402
from analyzer.cli import main  # noqa: E402
from analyzer.core.errors import AnalysisError  # noqa: E402
from analyzer.core.ir import Tensor  # noqa: E402


def _bias(n: int) -> nn.Module:
    conv = nn.Conv2d(3, 8, 3)
    conv.bias = nn.Parameter(torch.zeros(n))
    return conv


class InplaceAdd(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x[:, :1].clone()
        y += x  # (2, 1) += (2, 3): the result does not fit y
        return y


class IntInplaceAdd(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        i = torch.zeros(x.shape, dtype=torch.long)
        i += x  # float into long
        return i


class MixedConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)  # float32 input, float64 weights


# (module, input shape) PyTorch refuses; the message comes from running it for real
WRONG: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "conv_channels": (lambda: nn.Conv2d(3, 8, 3), (1, 4, 8, 8)),
    "conv_unbatched_channels": (lambda: nn.Conv2d(3, 8, 3), (4, 8, 8)),
    "conv1d_channels": (lambda: nn.Conv1d(3, 8, 3), (1, 4, 8)),
    "conv3d_channels": (lambda: nn.Conv3d(3, 8, 3), (1, 4, 6, 6, 6)),
    "conv_groups_channels": (lambda: nn.Conv2d(6, 8, 3, groups=2), (1, 8, 8, 8)),
    "conv_bias_size": (lambda: _bias(7), (1, 3, 8, 8)),
    "conv_rank": (lambda: nn.Conv2d(3, 8, 3), (1, 1, 3, 8, 8)),
    "conv_dtypes": (MixedConv, (1, 3, 8, 8)),
    "layer_norm": (lambda: nn.LayerNorm(64), (2, 32)),
    "rms_norm": (lambda: nn.RMSNorm(64), (2, 32)),
    "batch_norm": (lambda: nn.BatchNorm2d(4), (1, 3, 8, 8)),
    "instance_norm": (lambda: nn.InstanceNorm2d(4, affine=True, track_running_stats=True), (1, 3, 8, 8)),
    "group_norm_divisible": (lambda: nn.GroupNorm(4, 8), (1, 6, 8, 8)),
    "group_norm_weight": (lambda: nn.GroupNorm(2, 4), (1, 6, 8, 8)),
    "inplace_broadcast": (InplaceAdd, (2, 3)),
    "inplace_dtype": (IntInplaceAdd, (2, 3)),
}  # fmt: skip


def pytorch_message(model: nn.Module, shape: tuple[int, ...]) -> str:
    with pytest.raises((RuntimeError, ValueError)) as real:
        model(torch.zeros(shape))
    return str(real.value).splitlines()[0]


@pytest.mark.parametrize("case", list(WRONG))
@pytest.mark.parametrize("capture", ["meta", "real"])
def test_wrong_shapes_raise_pytorchs_message(plugins, case: str, capture: str) -> None:
    build, shape = WRONG[case]
    model = build().eval()
    expected = pytorch_message(model, shape)
    spec = Tensor("input", shape, "float32")  # float32 named: a bare shape would take the weights' dtype
    with pytest.raises(AnalysisError) as err:
        analyzer.analyze(model, spec, plugins=plugins, frontend_options={"capture": capture})
    assert expected in str(err.value)


def test_meta_weights_are_checked_too(plugins) -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.LayerNorm(6))
    with pytest.raises(AnalysisError, match="expected input\\[1, 4, 8, 8\\] to have 3 channels"):
        analyzer.analyze(model, (1, 4, 8, 8), plugins=plugins)
    with pytest.raises(AnalysisError, match="normalized_shape=\\[6\\]"):
        analyzer.analyze(model, (1, 3, 9, 9), plugins=plugins)  # conv gives 7x7, not 6


def test_right_shapes_still_pass(plugins) -> None:
    # the checks refuse only what PyTorch refuses: conv -> LayerNorm over (C, H, W), grouped conv
    model = nn.Sequential(nn.Conv2d(4, 8, 3, groups=2), nn.LayerNorm((8, 6, 6)), nn.GroupNorm(2, 8))
    report = analyzer.analyze(model.eval(), (1, 4, 8, 8), plugins=plugins)
    assert report.totals["macs"] == 8 * 6 * 6 * 2 * 9  # out elements x (4 / 2 groups) x 3x3


def test_cli_exits_1_with_pytorchs_message(tmp_path, capsys) -> None:
    spec = tmp_path / "nets.py"
    spec.write_text(
        "import torch\nconv = torch.nn.Conv2d(3, 8, 3)\nnorm = torch.nn.LayerNorm(64)\n"
    )
    assert main(["analyze", f"{spec}:conv", "--input-shape", "1,4,8,8"]) == 1
    err = capsys.readouterr().err
    assert "expected input[1, 4, 8, 8] to have 3 channels, but got 4 channels instead" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["analyze", f"{spec}:norm", "--input-shape", "2,32"]) == 1
    assert (
        "Given normalized_shape=[64], expected input with shape [*, 64]" in capsys.readouterr().err
    )
