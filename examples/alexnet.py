"""The lecture's AlexNet (docs/metrics.md) in PyTorch, Keras 3 and Flax linen.

The original two-group network: 3x224x224 input, conv1 96@11x11/4 (padding 2)
-> 55x55, conv2 256@5x5 g=2, conv3 384@3x3, conv4 384@3x3 g=2, conv5 256@3x3
g=2, 3x3/2 max-pools after conv1, conv2 and conv5, fc 9216 -> 4096 -> 4096 ->
1000. Layer names follow ``analyzer.zoo.alexnet``.

    python -m analyzer compare examples/alexnet.py:torch_model \
        examples/alexnet.py:keras_model examples/alexnet.py:flax_model --no-bias

Each SPEC imports only its own framework, when called.
"""

from __future__ import annotations

from typing import Any

NAME = "alexnet"
# (name, out channels, kernel, stride, padding, groups, max-pool after)
CONVS = (
    ("conv1", 96, 11, 4, 2, 1, True),
    ("conv2", 256, 5, 1, 2, 2, True),
    ("conv3", 384, 3, 1, 1, 1, False),
    ("conv4", 384, 3, 1, 1, 2, False),
    ("conv5", 256, 3, 1, 1, 2, True),
)
FCS = (("fc6", 4096), ("fc7", 4096), ("fc8", 1000))


def torch_model() -> dict[str, Any]:
    """PyTorch, NCHW, built on the meta device (no weights allocated)."""
    from collections import OrderedDict

    import torch
    from torch import nn

    def build() -> nn.Sequential:
        layers: list[tuple[str, nn.Module]] = []
        c_in, pools = 3, 0
        for i, (name, c, k, s, p, g, pool) in enumerate(CONVS, start=1):
            layers += [
                (name, nn.Conv2d(c_in, c, k, s, p, groups=g)),
                (f"relu{i}", nn.ReLU(inplace=True)),
            ]
            if pool:
                pools += 1
                layers.append((f"pool{pools}", nn.MaxPool2d(3, 2)))
            c_in = c
        layers.append(("flatten", nn.Flatten()))
        n_in = 256 * 6 * 6
        for i, (name, n) in enumerate(FCS, start=6):
            layers.append((name, nn.Linear(n_in, n)))
            if name != "fc8":
                layers.append((f"relu{i}", nn.ReLU(inplace=True)))
            n_in = n
        return nn.Sequential(OrderedDict(layers))

    with torch.device("meta"):
        model = build().eval()
    return {"model": model, "inputs": (1, 3, 224, 224), "name": NAME}


def keras_model() -> dict[str, Any]:
    """Keras 3 functional, NHWC; conv1's padding 2 is a ZeroPadding2D (Keras
    convolutions pad only "valid"/"same"), which the analyzer folds into conv1."""
    import keras
    from keras import layers

    with keras.StatelessScope(initialize_variables=False):  # shapes only: no weight initialisation
        x = inp = keras.Input((224, 224, 3), name="input")
        pools = 0
        for i, (name, c, k, s, p, g, pool) in enumerate(CONVS, start=1):
            if s > 1:  # torch's symmetric padding; "same" would pad a strided conv asymmetrically
                x = layers.ZeroPadding2D(p, name=f"{name}_pad")(x)
            x = layers.Conv2D(
                c, k, strides=s, padding="valid" if s > 1 else "same", groups=g, name=name
            )(x)
            x = layers.ReLU(name=f"relu{i}")(x)
            if pool:
                pools += 1
                x = layers.MaxPooling2D(3, 2, name=f"pool{pools}")(x)
        x = layers.Flatten(name="flatten")(x)
        for i, (name, n) in enumerate(FCS, start=6):
            x = layers.Dense(n, name=name)(x)
            if name != "fc8":
                x = layers.ReLU(name=f"relu{i}")(x)
        model = keras.Model(inp, x, name=NAME)
    return {"model": model, "inputs": (1, 224, 224, 3), "name": NAME}


def flax_model() -> dict[str, Any]:
    """Flax linen, NHWC; the frontend creates the variables abstractly (jax.eval_shape)."""
    import flax.linen as nn

    class AlexNet(nn.Module):
        @nn.compact
        def __call__(self, x):
            for name, c, k, s, p, g, pool in CONVS:
                x = nn.Conv(c, (k, k), strides=s, padding=p, feature_group_count=g, name=name)(x)
                x = nn.relu(x)
                if pool:
                    x = nn.max_pool(x, (3, 3), (2, 2))
            x = x.reshape((x.shape[0], -1))
            for name, n in FCS:
                x = nn.Dense(n, name=name)(x)
                if name != "fc8":
                    x = nn.relu(x)
            return x

    return {"model": AlexNet(), "inputs": (1, 224, 224, 3), "name": NAME}
