"""Plugin op mappings for the TFLite frontend (hook ``analyzer_register_op_mappings``, framework ``tflite``)."""

from __future__ import annotations

from typing import Any

from analyzer.plugins.frontends.tflite.emit import Emitter
from analyzer.plugins.frontends.tflite.handlers import HANDLERS, Handler, unknown_role
from analyzer.plugins.frontends.tflite.reader import OpInfo


def op_key(op: OpInfo) -> str:
    """How handler tables name an op: its builtin name, or ``CUSTOM:<code>`` for a custom op."""
    return op.name if op.name != "CUSTOM" else f"CUSTOM:{op.custom_code}"


def mapped(target: str) -> Handler:
    """A plugin's canonical op for a TFLite op: every operand (stored weights as parameters)."""

    def handler(e: Emitter, op: OpInfo) -> None:
        ins = [e.operand(t, unknown_role(e, t)) for t in op.inputs if t >= 0]
        e.node(target, ins, [e.output(t) for t in op.outputs])

    return handler


def with_plugin_mappings(mappings: dict[str, Any]) -> dict[str, Handler]:
    """HANDLERS with the plugins' ``tflite`` op mappings first (hook ``analyzer_register_op_mappings``).

    ``source_op`` is a builtin name (``L2_POOL_2D``) or a custom op's code
    (``MyOp`` or ``CUSTOM:MyOp``); ``target`` a canonical op or a handler
    ``fn(emitter, op)`` (``analyzer.plugins.frontends.tflite.emit.Emitter``,
    ``reader.OpInfo``).
    """
    if not mappings:
        return HANDLERS
    from tflite.utils import BUILTIN_OPCODE2NAME

    from analyzer.core.op_mappings import refuse_clashes

    builtins = set(BUILTIN_OPCODE2NAME.values())
    keyed: dict[str, list[Any]] = {}
    for source_op, m in mappings.items():
        code = source_op.removeprefix("CUSTOM:")
        key = code if code in builtins and not source_op.startswith("CUSTOM:") else f"CUSTOM:{code}"
        keyed.setdefault(key, []).append(m)
    refuse_clashes("tflite", keyed)
    table = dict(HANDLERS)
    for key, (m,) in keyed.items():
        table[key] = m.target if callable(m.target) else mapped(m.target)
    return table
