"""The raw payload a product keeps, made storable in every JSON column.

:func:`storable` repairs what SQLite's and PostgreSQL's JSON columns refuse — non-finite
numbers become their text (``"NaN"``, ``"Infinity"``), text is
:func:`~harvester.apis.fields.clean`\\ ed (NUL removed, lone surrogates replaced) — and
refuses nesting deeper than :data:`MAX_DEPTH` (:class:`~harvester.apis.fields.FieldError`).

Nearly every payload needs no repair: a check that only reads (:func:`plain`, one loop
per container) finds that out, and the payload is kept as it is; only the rare payload
that needs a repair is copied, node by node (:func:`repaired`).
"""

from __future__ import annotations

import math
from typing import Any

from harvester.apis.fields import FieldError, clean

#: Deepest nesting kept in a stored JSON value (a product record is a few levels deep).
MAX_DEPTH = 64


def storable(value: Any, path: str = "raw") -> Any:
    """*value* itself when every JSON column accepts it as it is (the common case), else a
    repaired copy (:func:`repaired`); :class:`FieldError` at *path* when nested deeper
    than :data:`MAX_DEPTH`."""
    return value if plain(value) else repaired(value, path)


def _text_ok(text: str) -> bool:
    """No NUL, and encodable as UTF-8 (no lone surrogate): :func:`clean` keeps it as is."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def plain(value: Any, depth: int = 0) -> bool:
    """Whether :func:`repaired` would return *value* unchanged (an equal copy): no
    non-finite float, no text :func:`clean` would change (keys included), nesting within
    :data:`MAX_DEPTH`. Reads only; one loop per container."""
    kind = type(value)
    if kind is str:
        return _text_ok(value)
    if kind is float:
        return value - value == 0  # NaN and ±Infinity give NaN
    if kind is not dict and kind is not list:
        return True
    if depth >= MAX_DEPTH:
        return False
    if kind is dict:
        try:
            keys = "".join(value)  # every key at once (JSON keys are text)
        except TypeError:
            if not all(plain(key) for key in value):
                return False
        else:
            if not _text_ok(keys):
                return False
        value = value.values()
    for item in value:
        kind = type(item)
        if kind is str:
            if "\x00" in item or not (item.isascii() or _text_ok(item)):
                return False
        elif kind is float:
            if item - item != 0:
                return False
        elif (kind is dict or kind is list) and not plain(item, depth + 1):
            return False
    return True


def repaired(value: Any, path: str = "raw", depth: int = 0) -> Any:
    """A copy of a raw JSON value that every JSON column accepts: non-finite numbers as
    their text (``"NaN"``, ``"Infinity"``), text :func:`clean`; :class:`FieldError` when
    nested deeper than :data:`MAX_DEPTH`."""
    kind = type(value)
    if kind is str:
        return value if value.isascii() and "\x00" not in value else clean(value)
    if kind is float:
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if kind is dict or kind is list:
        if depth >= MAX_DEPTH:
            raise FieldError(path, f"nested deeper than {MAX_DEPTH} levels")
        if kind is list:
            return [repaired(v, path, depth + 1) for v in value]
        return {repaired(k): repaired(v, path, depth + 1) for k, v in value.items()}
    return value
