"""Indented JSON, fast and in pieces: the bytes of ``json.dumps(obj, indent=2, default=...)``.

The standard library writes indented JSON with its pure-Python generator
(its C encoder serves only ``indent=None``), a few microseconds per value:
11 s for the report of a 100k-node graph. ``dumps`` builds the same text
with one string join per container (about 3x faster), and ``iter_object``
writes a document whose big lists (a report's layers and modules) are
produced one element at a time, so that a reporter can write a report of a
million layers to a file without holding its text or its dict in memory.

Same output as ``json.dumps(obj, indent=..., default=...)`` (tested): keys
converted as json does (``True`` -> ``"true"``, numbers -> their text),
``NaN``/``Infinity`` written as json writes them, tuples as arrays,
anything else passed to ``default``. Circular structures are not detected
(reports hold none): they end in RecursionError instead of ValueError.
"""

from __future__ import annotations

import operator
from array import array
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from itertools import islice
from json.encoder import encode_basestring_ascii as _string
from typing import Any

Default = Callable[[Any], Any]
_INF = float("inf")
_KEYS: dict[
    str, str
] = {}  # encoded '"key": ' of the keys seen (quantity names repeat on every row)
_MAX_KEYS = 4096


class Rows:
    """A list value of ``iter_object`` whose items are produced lazily (a generator of rows);
    ``encoded``: the items are already JSON text, written at the list's item level (``encode_rows``)."""

    __slots__ = ("encoded", "items")

    def __init__(self, items: Iterable[Any], encoded: bool = False):
        self.items = items
        self.encoded = encoded


def _float(o: float) -> str:
    if o != o:
        return "NaN"
    if o == _INF:
        return "Infinity"
    if o == -_INF:
        return "-Infinity"
    return float.__repr__(o)


def _key(k: Any) -> str:
    if isinstance(k, str):
        return _string(k)
    if k is True:
        return '"true"'
    if k is False:
        return '"false"'
    if k is None:
        return '"null"'
    if isinstance(k, int):
        return '"' + int.__repr__(k) + '"'
    if isinstance(k, float):
        return '"' + _float(k) + '"'
    raise TypeError(f"keys must be str, int, float, bool or None, not {k.__class__.__name__}")


def _no_default(o: Any) -> Any:
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def encode(o: Any, default: Default = _no_default, indent: str = "  ", level: int = 0) -> str:
    """``o`` as indented JSON text, starting at nesting ``level`` (no trailing newline)."""
    t = type(o)
    if t is str:
        return _string(o)
    if t is int:
        return int.__repr__(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if t is float:
        return _float(o)
    if t is list or t is tuple:
        if not o:
            return "[]"
        inner = "\n" + indent * (level + 1)
        level += 1
        rep = int.__repr__
        items = [rep(v) if type(v) is int else _string(v) if type(v) is str else encode(v, default, indent, level)
                 for v in o]  # fmt: skip
        return "[" + inner + ("," + inner).join(items) + "\n" + indent * (level - 1) + "]"
    if t is dict:
        if not o:
            return "{}"
        if len(o) >= _TABLE_MIN:
            text = _dict_of_rows(o, default, indent, level)
            if text is not None:
                return text
        if len(o) >= _TEMPLATE_MIN:
            text = _by_template(o, default, indent, level)
            if text is not None:
                return text
        inner = "\n" + indent * (level + 1)
        level += 1
        items = []
        append = items.append
        keys = _KEYS
        for k, v in o.items():  # scalars inline: most values of a report are numbers
            key = keys.get(k) if type(k) is str else None
            if key is None:
                key = _key(k) + ": "
                if type(k) is str and len(keys) < _MAX_KEYS:
                    keys[k] = key
            tv = type(v)
            if tv is int:
                append(key + int.__repr__(v))
            elif tv is str:
                append(key + _string(v))
            elif v is None:
                append(key + "null")
            elif tv is float:
                append(key + _float(v))
            else:
                append(key + encode(v, default, indent, level))
        return "{" + inner + ("," + inner).join(items) + "\n" + indent * (level - 1) + "}"
    # subclasses, in json's order of checks
    if isinstance(o, str):
        return _string(o)
    if isinstance(o, int):
        return int.__repr__(o)
    if isinstance(o, float):
        return _float(o)
    if isinstance(o, list | tuple):
        return encode(list(o), default, indent, level)
    if isinstance(o, dict):
        return encode(dict(o), default, indent, level)
    return encode(default(o), default, indent, level)


# Wide dicts (report rows: tens of numbers each, the same keys and value types row after row) are
# written through a %-template per (keys, value types, indent, level): ints and finite floats are
# formatted by the one C call (``%d``, ``%r``: a float's repr is its JSON), strings take one C call
# each, and only containers (and a NaN or an infinity) a Python step.
_TEMPLATE_MIN = 8
_TEMPLATES: dict[tuple[Any, ...], tuple[Any, ...]] = {}
_MAX_TEMPLATES = 1024


def _by_template(o: dict[Any, Any], default: Default, indent: str, level: int) -> str | None:
    values = tuple(o.values())
    sig = (tuple(o), tuple(map(type, values)), indent, level)
    plan = _TEMPLATES.get(sig)
    if plan is None:
        plan = _template(*sig)
        if plan is None:
            return None
        if len(_TEMPLATES) >= _MAX_TEMPLATES:
            _TEMPLATES.clear()
        _TEMPLATES[sig] = plan
    template, strings, others, floats, float_values, float_template = plan
    if floats:
        total = sum(float_values(values)) if len(floats) > 1 else values[floats[0]]
        finite = total - total == 0  # NaN and infinities propagate (an overflow to inf: checked below)
    else:
        finite = True
    if not strings and not others and finite:
        return template % values
    args = list(values)
    for i in strings:
        args[i] = _string(args[i])
    for i in others:
        args[i] = _other(args[i], default, indent, level + 1)
    if not finite:  # floats written as text: their repr but for NaN and infinities
        for i in floats:
            args[i] = _float(args[i])
        template = float_template
    return template % tuple(args)


# A dict of dicts of one or a few shapes (a report's quantities: some forty rows of metadata, the
# same keys each) is written a column at a time (``encode_rows``), not a dict at a time.
_TABLE_MIN = 8


def _dict_of_rows(o: dict[Any, Any], default: Default, indent: str, level: int) -> str | None:
    """``o`` as ``encode`` writes it when its values are all dicts in runs of one shape (the same
    string keys in the same order), at least four rows a run on average; None otherwise."""
    rows = list(o.values())
    if set(map(type, rows)) != _DICT:
        return None
    shapes = list(map(tuple, rows))
    n = len(rows)
    if shapes.count(shapes[0]) == n:  # one shape (a report's quantities)
        starts = [0]
    else:
        starts = [0, *(i for i in range(1, n) if shapes[i] != shapes[i - 1])]
        if len(starts) * 4 > n:
            return None
    texts: list[str] = []
    for i, j in zip(starts, [*starts[1:], n], strict=True):
        shape = shapes[i]
        if not shape:
            texts += ["{}"] * (j - i)
            continue
        if set(map(type, shape)) != _STR:
            return None
        texts += encode_rows(shape, list(zip(*map(dict.values, rows[i:j]), strict=True)), default, indent, level + 1)
    keys = list(map(_KEYS.get, o))  # each '"key": ' as written before
    if None in keys:
        for i, k in enumerate(o):
            if keys[i] is None:
                keys[i] = key = _key(k) + ": "
                if type(k) is str and len(_KEYS) < _MAX_KEYS:
                    _KEYS[k] = key
    inner = "\n" + indent * (level + 1)
    return "{" + inner + ("," + inner).join(map(str.__add__, keys, texts)) + "\n" + indent * level + "}"


_DICT = {dict}


def _other(v: Any, default: Default, indent: str, level: int) -> str:
    """A template's value that is neither an int, a float nor a string: None, a bool or a container."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if type(v) is list and v:  # a shape (ints), output shapes (lists of ints), node names (strings)
        if type(v[0]) is not str:  # shapes repeat from layer to layer: written once a document
            key = (repr(v), indent, level)
            text = _SHAPES.get(key)
            if text is None:
                text = _list(v, default, indent, level)
                if _is_shape(v) and len(_SHAPES) < _MAX_SHAPES:
                    _SHAPES[key] = text
            return text
        return _list(v, default, indent, level)
    return encode(v, default, indent, level)


def _list(v: list[Any], default: Default, indent: str, level: int) -> str:
    """A non-empty list: of ints, of strings, of such lists, as ``encode`` writes it."""
    types = set(map(type, v))
    if len(types) == 1:
        t = types.pop()
        pieces = _LIST_PIECES.get((indent, level))
        if pieces is None:
            inner = "\n" + indent * (level + 1)
            pieces = _LIST_PIECES[(indent, level)] = ("[" + inner, "," + inner, "\n" + indent * level + "]")
        if t is int:
            return pieces[0] + pieces[1].join(map(int.__repr__, v)) + pieces[2]
        if t is str:
            return pieces[0] + pieces[1].join(map(_string, v)) + pieces[2]
        if t is list:
            items = [_list(x, default, indent, level + 1) if x else "[]" for x in v]
            return pieces[0] + pieces[1].join(items) + pieces[2]
    return encode(v, default, indent, level)


def _is_shape(v: list[Any]) -> bool:
    """A list of exact ints, or of such lists: its ``repr`` is its JSON value (a bool, a float or
    an int subclass reads apart), so the text can be looked up by it."""
    types = set(map(type, v))
    if types == {int}:
        return True
    return types == {list} and all(x and set(map(type, x)) == {int} for x in v)


_LIST_PIECES: dict[tuple[str, int], tuple[str, str, str]] = {}  # (indent, level) -> list's "[", ",", "]"
# shapes written in the current document, by (repr, indent, level); emptied as each document starts
_SHAPES: dict[tuple[str, str, int], str] = {}
_SHAPE_TEXTS: dict[tuple[str, int], dict[str, str]] = {}  # the same for columns: (indent, level) -> repr -> text
_MAX_SHAPES = 4096


def _template(keys: tuple[Any, ...], types: tuple[type, ...], indent: str,
              level: int) -> tuple[Any, ...] | None:  # fmt: skip
    """The %-template of dicts with these keys and value types; the positions of the strings, of the
    other values that need converting first, and of the floats (with a getter of the floats); the
    template that takes the floats as text (a NaN or an infinity among them)."""
    if not all(type(k) is str for k in keys):
        return None
    parts, strings, others, floats = [], [], [], []
    for i, (k, t) in enumerate(zip(keys, types, strict=True)):
        parts.append(_string(k).replace("%", "%%") + ": " + ("%d" if t is int else "%r" if t is float else "%s"))
        if t is str:
            strings.append(i)
        elif t is float:
            floats.append(i)
        elif t is not int:
            others.append(i)
    inner = "\n" + indent * (level + 1)
    template = "{" + inner + ("," + inner).join(parts) + "\n" + indent * level + "}"
    getter = operator.itemgetter(*floats) if len(floats) > 1 else None
    float_template = "{" + inner + ("," + inner).join(p.replace(": %r", ": %s") if i in floats else p
                                                      for i, p in enumerate(parts)) + "\n" + indent * level + "}"
    return template, tuple(strings), tuple(others), tuple(floats), getter, float_template


def encode_rows(keys: Sequence[str], columns: Sequence[Sequence[Any]], default: Default = _no_default,
                indent: str = "  ", level: int = 0, ints: Container[int] = ()) -> Iterator[str]:  # fmt: skip
    """The text ``encode`` writes for each row ``{keys[j]: columns[j][i]}`` (rows of one shape held
    as columns): a column of ints or of finite floats goes into the rows' one %-template as it is,
    any other is turned into text a column at a time, then each row is one C-level ``%``.
    A column that is an ``array`` of ints or floats (a report's stored column) needs no check of
    its values' types, nor do the columns at the positions ``ints`` (the caller knows them exact ints)."""
    if not keys:
        return iter(["{}"] * (len(columns[0]) if columns else 0))
    if len(columns) != len(keys):
        raise ValueError("encode_rows: one column a key")
    if set(map(type, keys)) != _STR:
        raise TypeError("encode_rows: keys must be strings")
    conversions: list[str] = []
    args: list[Sequence[Any]] = []
    convert, take = conversions.append, args.append
    for j, column in enumerate(columns):
        if type(column) is array:  # a report's stored column: ints or floats, no check of each value
            code = column.typecode
            if code == "q":  # (most columns)
                convert(": %d")
                take(column)
                continue
            types = _INT if code in _INT_CODES else _FLOAT if code == "d" else set(map(type, column))
        elif j in ints:
            convert(": %d")
            take(column)
            continue
        elif column and type(column[0]) is str:  # names, paths, text: escaped at once, no type check
            try:
                args.append(list(map(_string, column)))  # (refuses anything but a string)
            except TypeError:
                pass
            else:
                conversions.append(": %s")
                continue
            types = set(map(type, column))
        else:
            types = set(map(type, column))
        if types == _INT:
            conversions.append(": %d")
            args.append(column)
        elif types == _FLOAT and (total := sum(column)) - total == 0:  # every float finite: its repr
            distinct = set(column)
            if len(distinct) < len(column) and 0.0 not in distinct:  # (0.0 and -0.0 would share a key)
                texts = dict(zip(distinct, map(float.__repr__, distinct), strict=True))  # a repr ~0.5 µs
                conversions.append(": %s")
                args.append(list(map(texts.__getitem__, column)))
            else:
                conversions.append(": %r")
                args.append(column)
        else:
            conversions.append(": %s")
            if types == _STR:
                args.append(list(map(_string, column)))
            elif types == _BOOL:
                args.append(list(map(_BOOLS.__getitem__, column)))
            elif types <= _LISTS:  # shapes (repeated: looked up), node names (a new list a row), or null
                args.append(_list_column(column, default, indent, level + 1))
            else:  # as a dict's value: None, bools, NaN...
                args.append([_value(v, default, indent, level + 1) for v in column])
    inner = "\n" + indent * (level + 1)
    texts = list(map(_string, keys))
    if "%" in "".join(texts):  # the template's own '%' doubled
        texts = [t.replace("%", "%%") for t in texts]
    parts = map(str.__add__, texts, conversions)
    template = "{" + inner + ("," + inner).join(parts) + "\n" + indent * level + "}"
    return map(template.__mod__, zip(*args, strict=True))


_STR, _INT, _FLOAT, _BOOL = {str}, {int}, {float}, {bool}


_LISTS = {list, tuple, type(None)}  # tuples: a layer's node names
_BOOLS = {True: "true", False: "false"}
_INT_CODES = frozenset(("ints", *"bBhHiIlLqQ"))  # array type codes of ints (and encode_rows' "ints")


def _list_column(column: Sequence[Any], default: Default, indent: str, level: int) -> list[str]:
    """The text of each value of a column of lists (or None) at ``level``: node names written (one
    name a row: at once), shapes looked up by their repr among those the document already wrote
    (``_is_shape``); an object that repeats in the column (rows sharing one shape) is written once."""
    sample = next((v for v in column if v), None)
    if sample is not None and type(sample[0]) is str:  # node names: a new list each row
        pieces = _LIST_PIECES.get((indent, level))
        if pieces is None:
            inner = "\n" + indent * (level + 1)
            pieces = _LIST_PIECES[(indent, level)] = ("[" + inner, "," + inner, "\n" + indent * level + "]")
        start, between, end = pieces
        try:  # strings only (_string refuses anything else)
            if set(map(len, column)) == {1}:  # one name each (len(None) refuses a null)
                return list(map((start + "%s" + end).__mod__, map(_string, map(_FIRST, column))))
        except TypeError:
            pass
        try:
            return [start + between.join(map(_string, v)) + end if v else "[]" if v is not None else "null"
                    for v in column]  # fmt: skip
        except TypeError:
            return [_list(v, default, indent, level) if v else "[]" if v is not None else "null" for v in column]
    ids = list(map(id, column))  # the column holds each object: an id stands for one value here
    distinct = dict(zip(ids, column, strict=True))
    if len(distinct) < len(ids):
        texts = dict(zip(distinct, _shape_texts(list(distinct.values()), default, indent, level), strict=True))
        return list(map(texts.__getitem__, ids))
    return _shape_texts(column, default, indent, level)


_FIRST = operator.itemgetter(0)


def _shape_texts(column: Sequence[Any], default: Default, indent: str, level: int) -> list[str]:
    """``_list_column``'s texts of lists that are not node names (shapes, looked up by repr)."""
    memo = _SHAPE_TEXTS.get((indent, level))
    if memo is None:
        memo = _SHAPE_TEXTS[(indent, level)] = {"None": "null", "[]": "[]"}
    reprs = list(map(repr, column))
    texts = list(map(memo.get, reprs))
    if None in texts:
        for i, text in enumerate(texts):
            if text is None:
                text = texts[i] = memo.get(reprs[i])  # written earlier in this column
                if text is None:
                    v = column[i]
                    text = texts[i] = _list(v, default, indent, level) if type(v) is list and v else _other(v, default, indent, level)
                    if type(v) is list and _is_shape(v) and len(memo) < _MAX_SHAPES:
                        memo[reprs[i]] = text
    return texts


def _value(v: Any, default: Default, indent: str, level: int) -> str:
    """``v`` as ``encode`` writes a dict's value at ``level``."""
    t = type(v)
    if t is int:
        return int.__repr__(v)
    if t is str:
        return _string(v)
    if t is float:
        return _float(v)
    return _other(v, default, indent, level)


def dumps(o: Any, default: Default = _no_default, indent: int = 2) -> str:
    """``json.dumps(o, indent=indent, default=default)``, faster."""
    _SHAPES.clear()
    _SHAPE_TEXTS.clear()
    return encode(o, default, " " * indent)


def iter_object(fields: Iterable[tuple[str, Any]], default: Default = _no_default, indent: int = 2,
                batch: int = 64) -> Iterator[str]:  # fmt: skip
    """Chunks of the JSON object of ``fields`` (key, value); a ``Rows`` value is written item by item.

    The chunks joined are ``json.dumps(dict(fields), indent=indent, default=default)``
    with each ``Rows`` turned into a list; ``batch`` items of a ``Rows`` go in one chunk.
    A chunk of 64 report rows (about 64 kB) stays under the C allocator's threshold for memory
    of its own (128 kB): larger ones came from fresh pages each time, a page fault every 4 kB
    (a thousand rows a chunk cost MobileNetV2's document some 130 faults, a third of its time).
    """
    pad = " " * indent
    _SHAPES.clear()
    _SHAPE_TEXTS.clear()
    first = True
    yield "{"
    for key, value in fields:
        head = ("\n" if first else ",\n") + pad + _key(key) + ": "
        first = False
        if not isinstance(value, Rows):
            yield head + encode(value, default, pad, 1)
            continue
        sep = ",\n" + pad * 2
        items = iter(value.items)
        empty = True
        while True:  # a batch of items a chunk, joined at once
            chunk = list(islice(items, batch))
            if not chunk:
                break
            if not value.encoded:
                chunk = [encode(item, default, pad, 2) for item in chunk]
            chunk[0] = head + ("[\n" + pad * 2 if empty else sep) + chunk[0]  # (not a copy of the whole chunk)
            yield sep.join(chunk)
            head = ""
            empty = False
        yield head + ("[]" if empty else "\n" + pad + "]")
    yield "}" if first else "\n}"
