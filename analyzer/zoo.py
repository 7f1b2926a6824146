"""Reference models built with the framework-free GraphBuilder.

They need no ML framework, so they serve the README example, the metric
tests and the hardware models' tests. Layer names follow torchvision's
module paths (``features.0.0``, ``layer1.0.conv1``) where one exists.

- ``alexnet``: the lecture's two-group AlexNet (docs/metrics.md worked example)
- ``mobilenet_v2``, ``resnet50`` (v1.5), ``vgg16``: torchvision architectures
- ``transformer_encoder``: ``nn.TransformerEncoderLayer(512, 8, 2048, batch_first=True)``
- ``tiny_cnn``: a small CNN that fits a microcontroller
"""

from __future__ import annotations

from analyzer.core.builder import GraphBuilder
from analyzer.core.graph import Graph


def alexnet(batch: int = 1, dtype: str = "float32") -> Graph:
    """The lecture's AlexNet: 3x224x224, grouped conv2/4/5, biases present."""
    b = GraphBuilder("alexnet", dtype=dtype)
    x = b.input("input", (batch, 3, 224, 224))
    x = b.conv(x, 96, 11, stride=4, padding=2, name="conv1")
    x = b.relu(x, name="relu1")
    x = b.max_pool(x, 3, 2, name="pool1")
    x = b.conv(x, 256, 5, padding=2, groups=2, name="conv2")
    x = b.relu(x, name="relu2")
    x = b.max_pool(x, 3, 2, name="pool2")
    x = b.conv(x, 384, 3, padding=1, name="conv3")
    x = b.relu(x, name="relu3")
    x = b.conv(x, 384, 3, padding=1, groups=2, name="conv4")
    x = b.relu(x, name="relu4")
    x = b.conv(x, 256, 3, padding=1, groups=2, name="conv5")
    x = b.relu(x, name="relu5")
    x = b.max_pool(x, 3, 2, name="pool3")
    x = b.flatten(x, name="flatten")
    for i, (n, last) in enumerate(((4096, False), (4096, False), (1000, True)), start=6):
        x = b.linear(x, n, name=f"fc{i}")
        if not last:
            x = b.relu(x, name=f"relu{i}")
    return b.build(x)


def _conv_bn(b: GraphBuilder, x: str, out: int, k: int, stride: int = 1, groups: int = 1, act: str | None = "relu6",
             name: str = "") -> str:  # fmt: skip
    with b.scope(name):
        x = b.conv(x, out, k, stride, (k - 1) // 2, groups=groups, bias=False, name="0")
        x = b.batch_norm(x, name="1")
        if act:
            x = b.activation(act, x, name="2")
    return x


def mobilenet_v2(batch: int = 1, resolution: int = 224, width: float = 1.0, num_classes: int = 1000,
                 dtype: str = "float32") -> Graph:  # fmt: skip
    """torchvision's MobileNetV2 (3,504,872 params and 300,774,272 MACs at 224, width 1)."""

    def div8(v: float) -> int:
        new = max(8, int(v + 4) // 8 * 8)
        return new + 8 if new < 0.9 * v else new

    b = GraphBuilder("mobilenet_v2", dtype=dtype)
    x = b.input("input", (batch, 3, resolution, resolution))
    c = div8(32 * width)
    x = _conv_bn(b, x, c, 3, 2, name="features.0")
    idx = 1
    for t, ch, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        out = div8(ch * width)
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = c * t
            with b.scope(f"features.{idx}.conv"):
                y, j = x, 0
                if t != 1:
                    y = _conv_bn(b, y, hidden, 1, name=str(j))
                    j += 1
                y = _conv_bn(b, y, hidden, 3, stride, groups=hidden, name=str(j))
                y = b.conv(y, out, 1, bias=False, name=str(j + 1))
                y = b.batch_norm(y, name=str(j + 2))
            x = b.add(x, y, name=f"features.{idx}") if stride == 1 and c == out else y
            c = out
            idx += 1
    last = div8(1280 * max(1.0, width))
    x = _conv_bn(b, x, last, 1, name=f"features.{idx}")
    x = b.global_avg_pool(x, name="avgpool")
    x = b.flatten(x, name="flatten")
    x = b.identity(x, name="classifier.0")  # dropout at inference
    x = b.linear(x, num_classes, name="classifier.1")
    return b.build(x)


def resnet50(batch: int = 1, resolution: int = 224, num_classes: int = 1000, dtype: str = "float32") -> Graph:
    """torchvision's ResNet-50 v1.5 (25,557,032 params, 4,089,184,256 MACs at 224)."""
    b = GraphBuilder("resnet50", dtype=dtype)
    x = b.input("input", (batch, 3, resolution, resolution))
    x = b.conv(x, 64, 7, 2, 3, bias=False, name="conv1")
    x = b.batch_norm(x, name="bn1")
    x = b.relu(x, name="relu")
    x = b.max_pool(x, 3, 2, 1, name="maxpool")
    c = 64
    for li, (width, blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), start=1):
        for bi in range(blocks):
            s = stride if bi == 0 else 1
            with b.scope(f"layer{li}.{bi}"):
                y = b.conv(x, width, 1, bias=False, name="conv1")
                y = b.relu(b.batch_norm(y, name="bn1"), name="relu")
                y = b.conv(y, width, 3, s, 1, bias=False, name="conv2")
                y = b.relu(b.batch_norm(y, name="bn2"), name="relu@1")
                y = b.conv(y, width * 4, 1, bias=False, name="conv3")
                y = b.batch_norm(y, name="bn3")
                identity = x
                if bi == 0:
                    identity = b.conv(x, width * 4, 1, s, bias=False, name="downsample.0")
                    identity = b.batch_norm(identity, name="downsample.1")
                # torchvision adds in the block's own forward: scope "layer1.0"
                x = b.op("add", [y, identity], b.shape(y), scope=f"layer{li}.{bi}")  # type: ignore[assignment]
                x = b.relu(x, name="relu@2")
            c = width * 4
    x = b.global_avg_pool(x, name="avgpool")
    x = b.flatten(x, name="flatten")
    x = b.linear(x, num_classes, name="fc")
    assert c == 2048
    return b.build(x)


def vgg16(batch: int = 1, num_classes: int = 1000, dtype: str = "float32") -> Graph:
    """torchvision's VGG-16 (138,357,544 params, 15,470,264,320 MACs)."""
    b = GraphBuilder("vgg16", dtype=dtype)
    x = b.input("input", (batch, 3, 224, 224))
    i = 0
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if v == "M":
            x = b.max_pool(x, 2, 2, name=f"features.{i}")
            i += 1
        else:
            x = b.conv(x, int(v), 3, padding=1, name=f"features.{i}")
            x = b.relu(x, name=f"features.{i + 1}")
            i += 2
    x = b.op("adaptive_avg_pool", [x], (batch, 512, 7, 7), {"output_size": (7, 7), "channel_axis": 1}, name="avgpool")
    x = b.flatten(x, name="flatten")  # type: ignore[arg-type]
    for j, n in ((0, 4096), (3, 4096)):
        x = b.linear(x, n, name=f"classifier.{j}")
        x = b.relu(x, name=f"classifier.{j + 1}")
        x = b.identity(x, name=f"classifier.{j + 2}")
    x = b.linear(x, num_classes, name="classifier.6")
    return b.build(x)


def transformer_encoder(batch: int = 1, seq: int = 128, d_model: int = 512, heads: int = 8, ffn: int = 2048,
                        dtype: str = "float32") -> Graph:  # fmt: skip
    """PyTorch's post-norm ``nn.TransformerEncoderLayer`` (ReLU, eval mode): 3,152,384 params and
    419,430,400 MACs at 512/8/2048 on 128 tokens. The attention module is one layer (its packed
    in-projection, attention and out-projection), as in every framework's API."""
    b = GraphBuilder("transformer_encoder", dtype=dtype)
    x = b.input("input", (batch, seq, d_model))
    hd = d_model // heads
    att = "self_attn"
    w_in = b.param(f"{att}.in_proj_weight", (3 * d_model, d_model))
    b_in = b.param(f"{att}.in_proj_bias", (3 * d_model,), role="bias")
    qkv = b.op("linear", [x, w_in, b_in], (batch, seq, 3 * d_model), scope=att)
    qkv = b.op("reshape", [qkv], (batch, seq, 3, heads, hd), scope=att)
    qkv = b.op("permute", [qkv], (3, batch, heads, seq, hd), {"perm": (2, 0, 3, 1, 4)}, scope=att)
    parts = b.op("split", [qkv], [(1, batch, heads, seq, hd)] * 3, {"axis": 0}, scope=att)
    q, k, v = (b.op("reshape", [t], (batch, heads, seq, hd), scope=att) for t in parts)
    a = b.op("attention", [q, k, v], (batch, heads, seq, hd), {"is_causal": False}, scope=att)
    a = b.op("permute", [a], (batch, seq, heads, hd), {"perm": (0, 2, 1, 3)}, scope=att)
    a = b.op("reshape", [a], (batch, seq, d_model), scope=att)
    w_out = b.param(f"{att}.out_proj.weight", (d_model, d_model))
    b_out = b.param(f"{att}.out_proj.bias", (d_model,), role="bias")
    a = b.op("linear", [a, w_out, b_out], (batch, seq, d_model), scope=att)
    a = b.identity(a, name="dropout1")  # type: ignore[arg-type]
    x = b.op("add", [x, a], (batch, seq, d_model), scope="")  # in the encoder layer's own forward
    x = b.layer_norm(x, name="norm1")  # type: ignore[arg-type]
    h = b.linear(x, ffn, name="linear1")
    h = b.op("relu", [h], b.shape(h), scope="")  # F.relu in the forward
    h = b.identity(h, name="dropout")  # type: ignore[arg-type]
    h = b.linear(h, d_model, name="linear2")
    h = b.identity(h, name="dropout2")
    x = b.op("add", [x, h], (batch, seq, d_model), scope="")
    x = b.layer_norm(x, name="norm2")  # type: ignore[arg-type]
    return b.build(x)


def tiny_cnn(batch: int = 1, dtype: str = "float32") -> Graph:
    """A keyword-spotting-sized CNN (1x49x10 input): fits a Cortex-M7 at int8."""
    b = GraphBuilder("tiny_cnn", dtype=dtype)
    x = b.input("input", (batch, 1, 49, 10))
    x = b.conv(x, 32, (10, 4), stride=(2, 2), padding=((4, 5), (1, 2)), name="conv1")
    x = b.relu(x, name="relu1")
    x = b.conv(x, 32, 3, padding=1, groups=32, name="dw2")
    x = b.relu(x, name="relu2")
    x = b.conv(x, 64, 1, name="pw2")
    x = b.relu(x, name="relu3")
    x = b.global_avg_pool(x, name="pool")
    x = b.flatten(x, name="flatten")
    x = b.linear(x, 12, name="fc")
    x = b.softmax(x, name="softmax")
    return b.build(x)


MODELS = {"alexnet": alexnet, "mobilenet_v2": mobilenet_v2, "resnet50": resnet50, "vgg16": vgg16,
          "transformer_encoder": transformer_encoder, "tiny_cnn": tiny_cnn}  # fmt: skip
