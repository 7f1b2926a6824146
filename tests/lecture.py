"""The lecture's worked-example numbers (docs/metrics.md, "Worked examples"), shared by every test that checks them."""

# AlexNet as drawn in the lecture, bias ignored: layer -> (params, MACs)
ALEXNET_PARAMS_MACS = {
    "conv1": (34_848, 105_415_200),
    "conv2": (307_200, 223_948_800),
    "conv3": (884_736, 149_520_384),
    "conv4": (663_552, 112_140_288),
    "conv5": (442_368, 74_760_192),
    "fc6": (37_748_736, 37_748_736),
    "fc7": (16_777_216, 16_777_216),
    "fc8": (4_096_000, 4_096_000),
}
ALEXNET_PARAMS = 60_954_656
ALEXNET_MACS = 724_406_816
ALEXNET_TOTAL_ACTIVATIONS = 932_264
ALEXNET_PEAK_ACTIVATIONS = 440_928  # 150,528 input + 290,400 conv1 output
