"""Hypothesis strategies that mutate an API docs' example answer (``tests/fixtures/``):
keys, types, nulls, numbers (huge, NaN, Infinity, 20 digits), unicode (lone surrogates,
NUL), nesting depth — and the body's bytes (truncated, not JSON, not UTF-8)."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

Path = tuple[Any, ...]

#: Values the marketplace APIs have been seen (or may be expected) to send where
#: something else belonged.
ODD_VALUES: list[Any] = [
    None, "", [], {}, True, False, 0, -1, 1, 2**31, 2**63, 2**64, 10**20,
    12345678901234567890, -(10**30), 1e30, -1e-30, 1e308, 0.1,
    float("nan"), float("inf"), float("-inf"),
    "\ud800", "emoji cut \ud83d", "\udc00 low", "a\x00b", "\x00", "x" * 65, "9" * 65,
    "九块九", "-5.00", "1e999", "NaN", "Infinity", "100%", "many%", " 12 ", "true", "false",
    "0", "1", "-1", "//img.example.com/x.jpg", "http://x.example.com/y", "ftp://x/y",
    "javascript:alert(1)", [{}], [""], [None], {"a": {}}, {"price": "1"}, ["1", "2"],
]  # fmt: skip

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
ANY_CHAR = st.characters(codec=None, exclude_categories=()) | SURROGATES | st.just("\x00")
VALUES = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.integers(min_value=-(10**25), max_value=10**25).map(lambda n: f"{n / 10**4:.4f}"),
    st.text(ANY_CHAR, max_size=8),
)
DEPTHS = st.sampled_from([40, 70, 500, 990, 10_000])
DEEP = "__fuzz_deep_{}__"


def paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every path to a node of *value* (the root excluded)."""
    found: list[Path] = []
    if not isinstance(value, (dict, list)):
        return found
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def _parent(document: Any, path: Path) -> Any | None:
    node = document
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node if isinstance(node, (dict, list)) else None


def apply(document: Any, path: Path, kind: str, value: Any) -> None:
    """Mutate *document* in place at *path* (a path that no longer exists is skipped)."""
    parent = _parent(document, path)
    key = path[-1]
    if parent is None or (
        isinstance(parent, list) and not (isinstance(key, int) and key < len(parent))
    ):
        return
    if isinstance(parent, dict) and key not in parent:
        return
    current = parent[key]
    if kind == "delete":
        del parent[key]
    elif kind == "replace":
        parent[key] = value
    elif kind == "wrap":
        parent[key] = [current]
    elif kind == "stringify":
        parent[key] = json.dumps(current, allow_nan=True)
    elif kind == "deep":
        parent[key] = DEEP.format(value)
    elif kind == "rename" and isinstance(parent, dict):
        parent[f"{key}".upper() if value else f"{key}_x"] = parent.pop(key)
    elif kind == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(current))


BREAKAGES = st.sampled_from(["none"] * 12 + ["truncate", "html", "utf8", "scalar"])
SCALARS = st.sampled_from([b"null", b"[]", b'"ok"', b"200", b"NaN", b"{}"])


def mutated_bodies(document: Any) -> st.SearchStrategy[bytes]:
    """*document* with 1 to 4 mutations, serialized; sometimes its bytes broken too."""
    source = json.dumps(document)
    where = st.sampled_from(paths(document))
    mutation = st.one_of(
        st.tuples(st.just("replace"), VALUES),
        st.tuples(
            st.sampled_from(["delete", "wrap", "stringify", "rename", "duplicate"]), st.booleans()
        ),
        st.tuples(st.just("deep"), DEPTHS),
    )
    changes = st.lists(st.tuples(where, mutation), min_size=1, max_size=4)

    @st.composite
    def bodies(draw: Any) -> bytes:
        mutated = json.loads(source)
        depths = []
        for path, (kind, value) in draw(changes):
            if kind == "deep":
                depths.append(value)
            apply(mutated, path, kind, value)
        text = json.dumps(mutated, ensure_ascii=True, allow_nan=True)
        for depth in depths:
            nested = "[" * depth + "1" + "]" * depth
            text = text.replace(json.dumps(DEEP.format(depth)), nested)
        body = text.encode("ascii")
        breakage = draw(BREAKAGES)
        if breakage == "truncate":
            body = body[: draw(st.integers(min_value=0, max_value=len(body)))]
        elif breakage == "html":
            body = b"<html><body>502 Bad Gateway</body></html>"
        elif breakage == "utf8":
            at = draw(st.integers(min_value=0, max_value=len(body)))
            body = body[:at] + b"\xff\xfe\xed" + body[at:]
        elif breakage == "scalar":
            body = draw(SCALARS)
        return body

    return bodies()
