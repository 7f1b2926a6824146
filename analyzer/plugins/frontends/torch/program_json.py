"""Checks on a ``.pt2`` program's JSON (``models/model.json``) before torch reads it.

torch's deserializer trusts this document: node and argument names become
Python source that FX compiles with ``exec`` (a name such as
``x=__import__('os').system(...)`` runs when the module is built), symbolic
expressions go through ``sympy.sympify`` (which evaluates Python), op
targets are looked up as attributes of ``torch`` (any torch function can be
made a node and run when the program is retraced), pytree specs import a
``defaultdict``'s factory module by name, ``guards_code`` is Python
compiled by ``ExportedProgram.module()``, and stack traces are copied into
generated code as comments (a carriage return ends a comment). So, before
anything reaches torch:

- names are plain identifiers, module paths are dotted identifiers;
- targets are ATen/prims/higher-order ops, ``_operator``/``math`` arithmetic
  or ``torch.sym_*`` (``program_file`` also checks what they resolve to);
- pytree specs name no ``defaultdict`` factory outside builtins (a
  ``helper.py`` next to the file would otherwise be imported and run);
- symbolic expressions are ``sympy.srepr`` text made only of known sympy and
  torch function names, integer/float/bool constants and symbol names;
- node metadata is reduced to ``nn_module_stack`` (all the frontend reads),
  ``guards_code`` and the program's free-form metadata are dropped.

Framework-free: the document is plain JSON.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
from typing import Any


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
PATH = re.compile(r"[A-Za-z0-9_@-]+(\.[A-Za-z0-9_@-]+)*", re.ASCII)  # module paths: layer1.0.conv1
TARGET = re.compile(
    r"torch\.ops\.[A-Za-z_]\w*\.[A-Za-z_]\w*(\.[A-Za-z_]\w*)?|torch\._?sym_[a-z_]+"
    r"|_operator\.[a-z_]+|math\.[a-z]+",
    re.ASCII,
)
OPERATOR_FUNCTIONS = words(
    "getitem add sub mul truediv floordiv mod pow neg pos abs eq ne lt le gt ge and_ or_ xor "
    "not_ invert lshift rshift"
)
MATH_FUNCTIONS = words("ceil floor trunc sqrt exp log log2 pow")
# srepr vocabulary: sympy classes the printer emits plus torch.utils._sympy.functions
SYMPY_NAMES = words(
    "Symbol Integer Rational Float Add Mul Pow Max Min Abs Mod floor ceiling sign Piecewise "
    "ExprCondPair Tuple Eq Ne Lt Le Gt Ge Equality Unequality StrictLessThan StrictGreaterThan "
    "LessThan GreaterThan And Or Not BooleanTrue BooleanFalse true false Infinity "
    "NegativeInfinity NaN ComplexInfinity oo zoo nan int_oo IntInfinity NegativeIntInfinity "
    "FloorDiv ModularIndexing Where PythonMod CleanDiv CeilToInt FloorToInt CeilDiv LShift "
    "RShift PowByNatural FloatPow FloatTrueDiv IntTrueDiv IsNonOverlappingAndDenseIndicator "
    "TruncToFloat TruncToInt RoundToInt RoundDecimal ToFloat Identity"
)
DEFAULT_FACTORIES = words("list dict set int float str tuple")
POWERS = frozenset({"Pow", "PowByNatural", "FloatPow", "LShift"})
MAX_CONSTANT = 2**63
MAX_EXPONENT = 256
MAX_EXPR = 4096
MAX_META = 65536
ASSUMPTIONS = words(
    "integer positive negative nonnegative nonpositive real finite rational commutative precision"
)
# keys whose string values are identifiers / dotted paths / ops, wherever they appear
IDENTIFIER_KEYS = frozenset({"name", "as_name", "user_input_name"})
PATH_KEYS = frozenset(
    {"parameter_name", "buffer_name", "tensor_constant_name", "custom_obj_name", "fqn", "class_fqn"}
)
TARGET_KEYS = frozenset({"target", "as_operator"})
NAME_DICTS = frozenset(
    {"tensor_values", "sym_int_values", "sym_bool_values", "sym_float_values", "custom_obj_values"}
)
FREE_KEY_DICTS = frozenset(  # keyed by text torch only compares (expressions, op sets, type names)
    {"range_constraints", "opset_version", "treespec_namedtuple_fields", "as_string_to_argument"}
)


class UnsafeProgram(ValueError):
    """The program JSON carries something that would run code or is not what torch writes."""


def sanitize(doc: Any) -> dict[str, Any]:
    """Check ``doc`` (parsed ``models/model.json``) in place and strip what is never needed."""
    if not isinstance(doc, dict) or not isinstance(doc.get("graph_module"), dict):
        raise UnsafeProgram("not a torch.export program (no graph_module)")
    doc["guards_code"] = []  # Python source that ExportedProgram.module() would exec
    doc["graph_module"]["metadata"] = {}
    _walk(doc, "")
    return doc


def check_target(target: Any) -> str:
    if not isinstance(target, str) or not TARGET.fullmatch(target) or "__" in target:
        raise UnsafeProgram(f"op target {_show(target)} is not an operator torch.export writes")
    module, _, fn = target.partition(".")
    if module == "_operator" and fn not in OPERATOR_FUNCTIONS:
        raise UnsafeProgram(f"op target {_show(target)} is not an arithmetic operator")
    if module == "math" and fn not in MATH_FUNCTIONS:
        raise UnsafeProgram(f"op target {_show(target)} is not a math function")
    return target


def check_expr(text: Any) -> None:
    """A ``sympy.srepr`` string, made only of the vocabulary above (sympify evaluates Python)."""
    if not isinstance(text, str) or len(text) > MAX_EXPR:
        raise UnsafeProgram(f"symbolic expression {_show(text)} is too long or not text")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise UnsafeProgram(f"symbolic expression {_show(text)} does not parse") from None
    powers = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise UnsafeProgram(f"symbolic expression {_show(text)} calls a non-sympy function")
            if node.func.id in POWERS:
                powers += 1
                exponent = node.args[1] if len(node.args) == 2 else None
                if not _small_exponent(exponent) or powers > 3:
                    raise UnsafeProgram(f"symbolic expression {_show(text)} has a huge power")
            for kw in node.keywords:
                if kw.arg not in ASSUMPTIONS:
                    raise UnsafeProgram(f"symbolic expression {_show(text)} has keyword {kw.arg!r}")
        elif isinstance(node, ast.Name):
            if node.id not in SYMPY_NAMES:
                raise UnsafeProgram(f"symbolic expression {_show(text)} uses {node.id!r}")
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str):
                symbol = IDENTIFIER.fullmatch(value) and not value.startswith("_")
                if not (symbol or re.fullmatch(r"[0-9.e+-]+", value)):
                    raise UnsafeProgram(f"symbolic expression {_show(text)} has string {value!r}")
            elif not isinstance(value, int | float) or abs(value) > MAX_CONSTANT:
                raise UnsafeProgram(
                    f"symbolic expression {_show(text)} has constant {_show(value)}"
                )
        elif not isinstance(
            node, ast.Expression | ast.keyword | ast.Load | ast.Tuple | ast.UnaryOp | ast.USub
        ):
            raise UnsafeProgram(
                f"symbolic expression {_show(text)} has Python syntax ({type(node).__name__})"
            )


def check_treespec(text: Any) -> None:
    """A pytree spec (JSON text); a ``defaultdict`` node would import its factory's module."""
    try:
        _protocol, root = json.loads(text) if isinstance(text, str) else (None, None)
    except (ValueError, TypeError, RecursionError):
        raise UnsafeProgram(f"pytree spec {_show(text)} is not JSON") from None
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            raise UnsafeProgram(f"pytree spec {_show(text)} is malformed")
        if node.get("type") == "collections.defaultdict":
            ctx = node.get("context")
            factory = (
                (ctx.get("default_factory_module"), ctx.get("default_factory_name"))
                if isinstance(ctx, dict)
                else None
            )
            if factory is None or factory[0] != "builtins" or factory[1] not in DEFAULT_FACTORIES:
                raise UnsafeProgram(f"pytree spec names defaultdict factory {_show(factory)}")
        children = node.get("children_spec") or []
        stack.extend(children if isinstance(children, list) else [None])


def _small_exponent(node: ast.AST | None) -> bool:
    if isinstance(node, ast.Call) and node.args:  # Integer(3)
        node = node.args[0]
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and abs(node.value) <= MAX_EXPONENT
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # symbolic exponent


def _walk(value: Any, key: str) -> None:
    if isinstance(value, dict):
        if key == "metadata":
            _node_metadata(value)
            return
        by_name = key in NAME_DICTS or key in FREE_KEY_DICTS
        for k, v in value.items():
            if by_name:  # the key is data, not a field name
                if key in NAME_DICTS:
                    _identifier(k, key)
                _walk(v, "")
            else:
                _check_field(k, v)
                _walk(v, k)
    elif isinstance(value, list):
        for v in value:
            if key == "forward_arg_names":
                _identifier(v, key)
            _walk(v, key)


def _check_field(key: str, value: Any) -> None:
    if key in IDENTIFIER_KEYS and value not in (None, ""):  # "": a positional argument
        _identifier(value, key)
    elif key in PATH_KEYS and value != "":
        if not isinstance(value, str) or not PATH.fullmatch(value):
            raise UnsafeProgram(f"{key} {_show(value)} is not a module path")
    elif key in TARGET_KEYS:
        check_target(value)
    elif key == "expr_str":
        check_expr(value)
    elif key in ("in_spec", "out_spec"):
        check_treespec(value)


def _identifier(value: Any, key: str) -> None:
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value) or keyword.iskeyword(value):
        raise UnsafeProgram(f"{key} {_show(value)} is not a Python identifier")


def _node_metadata(meta: dict[str, Any]) -> None:
    """Keep only ``nn_module_stack``: every other key is either unused here or reaches codegen."""
    stack = meta.get("nn_module_stack")
    meta.clear()
    if stack is None:
        return
    if not isinstance(stack, str) or len(stack) > MAX_META or not stack.isprintable():
        raise UnsafeProgram(f"nn_module_stack {_show(stack)} is not printable text")
    meta["nn_module_stack"] = stack


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
