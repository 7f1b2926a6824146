"""The IR value types (docs/ir.md): a node's empty ``attrs`` and ``meta`` cost no dict, yet read and write
like the node's own dict."""

from __future__ import annotations

import copy
import dataclasses
import pickle

from analyzer.core.ir import Node


def node(nid: str = "n", **kw) -> Node:
    return Node(nid, "relu", ("x",), (nid,), **kw)


def test_empty_meta_is_not_stored_but_reads_as_an_empty_dict() -> None:
    n = node()
    assert n.meta == {} and not n.meta and isinstance(n.meta, dict)
    assert dataclasses.fields(Node)[-1].name == "meta"  # still a field of the dataclass
    assert n == node(meta={}) and repr(n).endswith("meta={})")


def test_first_write_makes_the_meta_the_nodes_own() -> None:
    n = node()
    view = n.meta
    view["uncounted"] = "why"
    view["more"] = 1  # the same dict after its first write
    assert n.meta == {"uncounted": "why", "more": 1} and n.meta is view
    other = node("o")
    other.meta.setdefault("data_dependent", True)
    assert other.meta == {"data_dependent": True}
    third = node("t")
    third.meta.update(a=1)
    third.meta |= {"b": 2}
    assert third.meta == {"a": 1, "b": 2}
    assert node("u").meta == {}  # a write to one node's meta never shows in another's


def test_given_meta_is_kept_and_an_empty_one_reads_the_same() -> None:
    mine = {"k": 1}
    assert node(meta=mine).meta is mine
    n = node(meta={})
    n.meta["k"] = 2
    assert n.meta == {"k": 2}
    n.meta = {}  # assigning an empty dict empties it
    assert n.meta == {}


def test_replace_copy_and_pickle() -> None:
    n = node()
    empty = dataclasses.replace(n, id="m")
    empty.meta["x"] = 1
    assert n.meta == {} and empty.meta == {"x": 1}
    full = node(meta={"k": [1]})
    for clone in (copy.deepcopy(full), pickle.loads(pickle.dumps(full))):
        assert clone == full and clone.meta is not full.meta
    for clone in (copy.deepcopy(n), pickle.loads(pickle.dumps(n)), copy.copy(n)):
        assert clone == n and clone.meta == {}
        clone.meta["y"] = 2
        assert n.meta == {}
    assert type(pickle.loads(pickle.dumps(full.meta))) is dict


def test_empty_attrs_are_not_stored_either() -> None:
    n = node()
    assert n.attrs == {} and n.repeat == 1 and n == node(attrs={})
    n.attrs["repeat"] = 3
    assert n.attrs == {"repeat": 3} and n.repeat == 3
    assert node().attrs == {}  # another node's attrs are untouched
    given = {"axis": 1}
    assert node(attrs=given).attrs is given
    loop = dataclasses.replace(node(), attrs={"repeat": 2})
    assert loop.repeat == 2 and loop.attrs == {"repeat": 2}


def test_stored_attrs_and_meta_make_no_dict() -> None:
    from analyzer.core.ir import stored_attrs, stored_meta

    n = node()
    assert stored_attrs(n) is None and stored_meta(n) is None
    n.attrs["axis"] = 1
    n.meta["k"] = 2
    assert stored_attrs(n) == {"axis": 1} and stored_attrs(n) is n.attrs
    assert stored_meta(n) == {"k": 2} and stored_meta(n) is n.meta
