"""Predicted vs measured PyTorch CPU inference latency on this machine, before and after calibration.

Each model is built twice from one description: as a PyTorch module (timed,
eager, ``torch.inference_mode``, the default thread count) and as an
analyzer graph (framework-free GraphBuilder, or the torch frontend with
``--frontend torch``). The cpu roofline model predicts its latency with

- before: the ``host`` spec derived from the OS's CPU description
  (cores x FLOP/cycle x clock; cache and DRAM bandwidths estimated) and the
  default efficiency factors;
- after: the spec ``python -m analyzer calibrate`` measures (numpy matmul
  and copies, PyTorch per-layer overhead and efficiency per op class).

Timing: the fastest of many short windows (robust to other processes on a
shared machine). Usage::

    python bench/hardware_latency.py [--quick] [--frontend builder|torch] [--threads N]
"""

# ruff: noqa: E402
from __future__ import annotations

import os
import sys

if "--threads" in sys.argv[:-1]:  # BLAS and OpenMP read their thread counts when numpy/torch load
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _n

import argparse
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from analyzer import GraphBuilder, analyze
from analyzer.core.devices import DeviceCatalog
from analyzer.core.plugins import load_plugins
from analyzer.plugins.hardware.calibrate import _write, calibrate, timed
from analyzer.plugins.hardware.host import derived_host_doc, host_info


class Twin:
    """Builds the same network as an analyzer graph and as a PyTorch program, op by op."""

    def __init__(self, name: str, shape: tuple[int, ...]):
        self.b = GraphBuilder(name)
        self.shape = shape
        self.x = self.b.input("x", shape)
        self.mods = nn.ModuleDict()
        self.prog: list[tuple[str, Callable, list[str]]] = []

    def _add(self, out: str, fn: Callable, ins: list[str]) -> str:
        self.prog.append((out, fn, ins))
        return out

    def _mod(self, name: str, m: nn.Module) -> nn.Module:
        self.mods[name.replace(".", "_")] = m
        return m

    def conv(self, x, cout, k, stride=1, padding=0, groups=1, bias=True, name=""):
        cin = self.b.shape(x)[1]
        m = self._mod(name, nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=bias))
        return self._add(self.b.conv(x, cout, k, stride, padding, groups=groups, bias=bias, name=name), m, [x])

    def linear(self, x, n, name=""):
        m = self._mod(name, nn.Linear(self.b.shape(x)[-1], n))
        return self._add(self.b.linear(x, n, name=name), m, [x])

    def bn(self, x, name=""):
        m = self._mod(name, nn.BatchNorm2d(self.b.shape(x)[1]))
        return self._add(self.b.batch_norm(x, name=name), m, [x])

    def ln(self, x, name=""):
        m = self._mod(name, nn.LayerNorm(self.b.shape(x)[-1]))
        return self._add(self.b.layer_norm(x, name=name), m, [x])

    def act(self, kind, x, name=""):
        m = self._mod(name, {"relu": nn.ReLU, "relu6": nn.ReLU6, "gelu": nn.GELU}[kind]())
        return self._add(self.b.activation(kind, x, name=name), m, [x])

    def max_pool(self, x, k, s, p=0, name=""):
        return self._add(self.b.max_pool(x, k, s, p, name=name), self._mod(name, nn.MaxPool2d(k, s, p)), [x])

    def gap(self, x, name=""):
        return self._add(self.b.global_avg_pool(x, name=name), self._mod(name, nn.AdaptiveAvgPool2d(1)), [x])

    def flatten(self, x, name=""):
        return self._add(self.b.flatten(x, name=name), lambda t: t.flatten(1), [x])

    def add(self, a, c, name=""):
        return self._add(self.b.add(a, c, name=name), lambda u, v: u + v, [a, c])

    def heads(self, x, h, name=""):
        """(B, L, D) -> (B, H, L, D/H)."""
        bsz, seq, d = self.b.shape(x)
        y = self.b.reshape(x, (bsz, seq, h, d // h), name=name + ".view")
        y = self.b.permute(y, (0, 2, 1, 3), name=name + ".perm")
        return self._add(y, lambda t: t.view(bsz, seq, h, d // h).transpose(1, 2), [x])

    def merge(self, x, name=""):
        bsz, h, seq, e = self.b.shape(x)
        y = self.b.permute(x, (0, 2, 1, 3), name=name + ".perm")
        y = self.b.reshape(y, (bsz, seq, h * e), name=name + ".view")
        return self._add(y, lambda t: t.transpose(1, 2).reshape(bsz, seq, h * e), [x])

    def attention(self, q, k, v, name=""):
        fn = nn.functional.scaled_dot_product_attention
        return self._add(self.b.attention(q, k, v, name=name), fn, [q, k, v])

    def build(self, out: str):
        graph = self.b.build(out)
        prog, mods, x_name = list(self.prog), self.mods, self.x

        class Program(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = mods
                self.steps, self.input_name = prog, x_name  # (graph tensor, callable, inputs) in order

            def forward(self, x):
                env = {x_name: x}
                for o, fn, ins in prog:
                    env[o] = fn(*(env[i] for i in ins))
                return env[out]

        return graph, Program().eval(), torch.randn(*self.shape)


def mlp():
    t = Twin("mlp", (32, 784))
    x = t.act("relu", t.linear(t.x, 1024, "fc1"), "relu1")
    x = t.act("relu", t.linear(x, 1024, "fc2"), "relu2")
    return t.build(t.linear(x, 10, "fc3"))


def wide_mlp():
    t = Twin("wide_mlp", (256, 2048))
    x = t.act("gelu", t.linear(t.x, 4096, "fc1"), "act")
    return t.build(t.linear(x, 2048, "fc2"))


def cnn():
    t = Twin("cnn", (8, 3, 64, 64))
    x = t.x
    for i, c in enumerate((32, 64, 128)):
        x = t.act("relu", t.conv(x, c, 3, padding=1, name=f"conv{i}"), f"relu{i}")
        if i < 2:
            x = t.max_pool(x, 2, 2, name=f"pool{i}")
    x = t.flatten(t.gap(x, "gap"), "flatten")
    return t.build(t.linear(x, 10, "fc"))


def dw_cnn():
    """MobileNet-v1-style depthwise-separable stack at 128x128."""
    t = Twin("dw_cnn", (1, 3, 128, 128))
    x = t.act("relu", t.conv(t.x, 32, 3, 2, 1, name="stem"), "stem_act")
    c = 32
    for i, (out, s) in enumerate(((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2))):
        x = t.act("relu", t.conv(x, c, 3, s, 1, groups=c, name=f"dw{i}"), f"dw{i}_act")
        x = t.act("relu", t.conv(x, out, 1, name=f"pw{i}"), f"pw{i}_act")
        c = out
    x = t.flatten(t.gap(x, "gap"), "flatten")
    return t.build(t.linear(x, 1000, "fc"))


def _conv_bn(t, x, out, k, s=1, groups=1, act="relu6", name=""):
    x = t.bn(t.conv(x, out, k, s, (k - 1) // 2, groups=groups, bias=False, name=f"{name}.0"), f"{name}.1")
    return t.act(act, x, f"{name}.2") if act else x


def mobilenet_v2():
    """torchvision's MobileNetV2 (width 1, 224), the same as analyzer.zoo.mobilenet_v2."""
    t = Twin("mobilenet_v2", (1, 3, 224, 224))
    x, c, idx = _conv_bn(t, t.x, 32, 3, 2, name="features.0"), 32, 1
    for e, ch, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            stride, y, j = (s if i == 0 else 1), x, 0
            if e != 1:
                y, j = _conv_bn(t, y, c * e, 1, name=f"features.{idx}.conv.0"), 1
            y = _conv_bn(t, y, c * e, 3, stride, groups=c * e, name=f"features.{idx}.conv.{j}")
            y = _conv_bn(t, y, ch, 1, act=None, name=f"features.{idx}.conv.{j + 1}")
            x = t.add(x, y, f"features.{idx}") if stride == 1 and c == ch else y
            c, idx = ch, idx + 1
    x = t.flatten(t.gap(_conv_bn(t, x, 1280, 1, name=f"features.{idx}"), "avgpool"), "flatten")
    return t.build(t.linear(x, 1000, "classifier"))


def resnet18():
    t = Twin("resnet18", (1, 3, 224, 224))
    x = t.max_pool(_conv_bn(t, t.x, 64, 7, 2, act="relu", name="conv1"), 3, 2, 1, name="maxpool")
    c = 64
    for li, (w, s) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2)), start=1):
        for bi in range(2):
            stride = s if bi == 0 else 1
            y = _conv_bn(t, x, w, 3, stride, act="relu", name=f"layer{li}.{bi}.a")
            y = _conv_bn(t, y, w, 3, act=None, name=f"layer{li}.{bi}.b")
            idt = _conv_bn(t, x, w, 1, stride, act=None, name=f"layer{li}.{bi}.down") if stride != 1 or c != w else x
            x = t.act("relu", t.add(y, idt, f"layer{li}.{bi}.add"), f"layer{li}.{bi}.relu")
            c = w
    x = t.flatten(t.gap(x, "avgpool"), "flatten")
    return t.build(t.linear(x, 1000, "fc"))


def transformer():
    """Two pre-norm encoder layers: d=256, 4 heads, 128 tokens, FFN 1024."""
    t = Twin("transformer", (1, 128, 256))
    x = t.x
    for i in range(2):
        h = t.ln(x, f"l{i}.ln1")
        q, k, v = (t.heads(t.linear(h, 256, f"l{i}.{n}"), 4, f"l{i}.{n}h") for n in "qkv")
        a = t.linear(t.merge(t.attention(q, k, v, f"l{i}.attn"), f"l{i}.merge"), 256, f"l{i}.out")
        x = t.add(x, a, f"l{i}.res1")
        f = t.linear(t.act("gelu", t.linear(t.ln(x, f"l{i}.ln2"), 1024, f"l{i}.ff1"), f"l{i}.gelu"), 256, f"l{i}.ff2")
        x = t.add(x, f, f"l{i}.res2")
    return t.build(x)


MODELS = {"mlp": mlp, "wide_mlp": wide_mlp, "cnn": cnn, "dw_cnn": dw_cnn, "mobilenet_v2": mobilenet_v2,
          "resnet18": resnet18, "transformer": transformer}  # fmt: skip


def measure(module: nn.Module, x: torch.Tensor, budget_s: float, windows: int, clock=time.perf_counter) -> float:
    """Seconds per inference: the fastest of ``windows`` windows of about ``budget_s`` each."""
    with torch.inference_mode():
        for _ in range(3):
            module(x)
        return timed(lambda: module(x), budget_s, windows, clock)


def plugins_with_host(doc: dict, directory: Path):
    """A plugin set whose catalog holds just ``doc`` as ``host``."""
    _write(doc, directory / "host.toml")
    ps = load_plugins()
    ps.devices = DeviceCatalog([directory])
    return ps


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="shorter timing windows and a quick calibration")
    p.add_argument("--frontend", choices=["builder", "torch"], default="builder",
                   help="graph for the prediction: the GraphBuilder twin or the torch frontend's conversion")  # fmt: skip
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: PyTorch's choice)")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    p.add_argument("--clock", choices=["wall", "cpu"],
                   help="wall time, or process CPU time (default with --threads 1: other processes do not inflate it)")  # fmt: skip
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    clock_name = args.clock or ("cpu" if torch.get_num_threads() == 1 else "wall")
    if clock_name == "cpu" and torch.get_num_threads() != 1:
        p.error("--clock cpu needs --threads 1 (CPU time adds up all threads)")
    clock = time.process_time if clock_name == "cpu" else time.perf_counter
    info = host_info()
    info.cores = min(info.cores, torch.get_num_threads())  # the cores inference actually uses
    before = derived_host_doc(info)
    t0 = time.perf_counter()
    after = calibrate(quick=args.quick, info=info, clock=clock)
    print(f"# host: {before['display_name']}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{clock_name} clock")  # fmt: skip
    print(f"# calibration took {time.perf_counter() - t0:.1f} s; peak fp32 "
          f"{before['peak_ops_per_s']['fp32']['value'] / 1e9:.1f} GFLOP/s derived -> "
          f"{after['peak_ops_per_s']['fp32']['value'] / 1e9:.1f} measured")  # fmt: skip
    for b_lvl, a_lvl in zip(before["memory"], after["memory"], strict=True):
        print(f"#   {a_lvl['name']}: {b_lvl['bandwidth_bytes_per_s']['value'] / 1e9:.1f} GB/s estimated -> "
              f"{a_lvl['bandwidth_bytes_per_s']['value'] / 1e9:.1f} measured")  # fmt: skip
    if "efficiency" in after:
        print(f"#   efficiency: {after['efficiency']}")
        print("#   fixed cost per layer (us): " + ", ".join(
            f"{k} {v['value'] * 1e6:.1f}" for k, v in after["class_overhead_s"].items()))  # fmt: skip
    budget, windows = (0.01, 10) if args.quick else (0.02, 30)  # short windows: some fall in quiet moments
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ps_before = plugins_with_host(before, Path(tmp) / "before")
        ps_after = plugins_with_host(after, Path(tmp) / "after")
        print("| model | MACs | measured ms | before: predicted ms | error | after: predicted ms | error |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name in args.models.split(","):
            graph, module, x = MODELS[name]()
            if args.frontend == "torch":
                graph = analyze(module, x).graph
            macs = analyze(graph).totals["macs"]
            meas = measure(module, x, budget, windows, clock)
            pb, pa = (analyze(graph, devices=["host"], plugins=ps).hardware[0].latency_s for ps in (ps_before, ps_after))
            rows.append((pb / meas, pa / meas))
            print(f"| {name} | {macs / 1e6:,.1f}M | {meas * 1e3:.3f} | {pb * 1e3:.3f} | {(pb / meas - 1) * 100:+.0f}% "
                  f"| {pa * 1e3:.3f} | {(pa / meas - 1) * 100:+.0f}% |")  # fmt: skip
            sys.stdout.flush()
    for label, i in (("before", 0), ("after", 1)):
        errs = [abs(r[i] - 1) for r in rows]
        gm = math.exp(sum(abs(math.log(r[i])) for r in rows) / len(rows))
        print(f"# {label} calibration: mean |error| {sum(errs) / len(errs) * 100:.0f}%, "
              f"max {max(errs) * 100:.0f}%, geometric-mean factor {gm:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
