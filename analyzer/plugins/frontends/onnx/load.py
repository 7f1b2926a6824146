"""Reading ``.onnx`` files safely: protobuf parsing only, weights left where they are.

An ONNX file is data (a protobuf message): loading it runs no code. The
weights of a file with external data are never read (``load_external_data=
False``): their shapes and dtypes come from the tensor headers, so a model
of any size is analysed in the memory its graph takes. Model-local
functions are inlined (a graph rewrite); ops of domains the analyzer does
not know become unsupported nodes, never code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analyzer.core.errors import AnalysisError

# A ModelProto starts with field 1 (ir_version, a varint: tag 0x08) or, from some writers,
# another top-level field: producer_name (0x12), producer_version (0x1a), domain (0x22),
# model_version (0x28), doc_string (0x32), graph (0x3a), opset_import (0x42).
_FIRST_TAGS = frozenset({0x08, 0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42})


def looks_like_onnx(path: Path) -> bool:
    """A cheap look at the first bytes (no import): could this be a serialized ModelProto?

    Used for files without the ``.onnx`` suffix. An ONNX file written by any
    exporter starts with the ``ir_version`` field (tag 0x08, then a version
    from 1 to 30) and names its producer or graph within the first bytes.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return False
    if len(head) < 4 or head[0] != 0x08 or not 1 <= head[1] <= 30:
        return False
    return head[2] in _FIRST_TAGS


def read_model(path: Path) -> Any:
    """The ModelProto in ``path``, without its external weights; one-line AnalysisError otherwise."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(str(path), load_external_data=False)
    except DecodeError as e:
        raise AnalysisError(
            f"{path}: not a valid ONNX file (protobuf: {str(e) or 'cannot parse'})"
        ) from None
    except OSError as e:
        raise AnalysisError(f"{path}: cannot read ({e.strerror or e})") from None
    except (ValueError, RuntimeError) as e:
        raise AnalysisError(f"{path}: not a valid ONNX file ({_first_line(e)})") from None
    check_model(model, str(path))
    return model


def check_model(model: Any, where: str) -> None:
    """Refuse what is not a model at all (an empty or unrelated protobuf)."""
    if not model.ir_version or not model.HasField("graph") or not model.graph.node:
        raise AnalysisError(f"{where}: not a valid ONNX file (no ir_version or an empty graph)")
    if not any(op.domain in ("", "ai.onnx") for op in model.opset_import):
        raise AnalysisError(
            f"{where}: not a valid ONNX file (no opset of the standard ai.onnx domain)"
        )


def prepare(model: Any, where: str) -> Any:
    """``model`` with its local functions inlined (a copy only when there are any)."""
    if not model.functions:
        return model
    from onnx import inliner

    try:
        return inliner.inline_local_functions(model)
    except Exception as e:  # a malformed function body
        raise AnalysisError(
            f"{where}: cannot inline the model's local functions ({_first_line(e)})"
        ) from None


def _first_line(e: BaseException) -> str:
    text = (str(e).strip().splitlines() or [""])[0]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
