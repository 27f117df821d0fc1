"""Typed coercions of record fields, shared by every provider module.

Each coercion takes a raw JSON value and the JSON path it was read from, and returns
a value the product schema stores on SQLite and PostgreSQL alike, ``None`` for an
absent value (``None`` or ``""``), or raises :class:`FieldError` naming the path.
The normalize pipeline dead-letters a record that raises :class:`ValidationError`
(of which :class:`FieldError` is one).

Bounds follow the storage schema (``harvester/storage/models.py``): money is
``numeric(18,4)`` (below 10^14), percentages ``numeric(9,4)`` (below 10^5), counts
``integer`` (32-bit), ids ``varchar(64)``.
"""

from __future__ import annotations

import math
import re
import time
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

#: Bounds of the schema's columns (exclusive for decimals, inclusive for integers).
MONEY_LIMIT = Decimal(10) ** 14
PERCENT_LIMIT = Decimal(10) ** 5
INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)
ID_LENGTH = 64
#: Longest number text read (a longer one is not a price, and ``int()`` of it is slow).
NUMBER_LENGTH = 64
#: Longest wait a ``Retry-After`` or ban may ask for (a day); longer ones are capped.
MAX_RETRY_AFTER = 86_400.0

#: Integers from here on are too long for text (a constant: Python does not fold 10**40).
_HUGE = 10**40
_HUGE_TEXT = 10**80
_INT32_MAX = 2**31 - 1
_INTEGER = re.compile(r"[+-]?[0-9]{1,40}")
_TRUE = frozenset({"1", "true"})
_FALSE = frozenset({"0", "false"})


class ValidationError(ValueError):
    """A record that does not fit the product schema (dead-lettered with this reason)."""


class FieldError(ValidationError):
    """The value at JSON *path* of a record cannot be read as what the schema needs."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def show(value: Any, width: int = 60) -> str:
    """``repr`` of *value* cut to *width* characters (for error messages)."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def absent(value: Any) -> bool:
    """``None`` and ``""`` (or blanks) mean "no value" in every API we read."""
    if value is None or value == "":
        return True
    return type(value) is str and value[0].isspace() and not value.strip()


# --------------------------------------------------------------------------- numbers


def decimal(
    value: Any,
    path: str,
    *,
    limit: Decimal = MONEY_LIMIT,
    percent: bool = False,
    minimum: Decimal | None = None,
) -> Decimal | None:
    """A finite decimal below *limit* in magnitude (``numeric(18,4)`` by default).

    Numbers are read from their decimal text, never through float arithmetic; with
    *percent*, a trailing ``%`` is dropped (``"3.5%"`` → ``3.5``).
    """
    if type(value) is str:  # the common case first
        text = value.strip()
        if not text:
            return None
        if percent:
            text = text.removesuffix("%").strip()
        if len(text) > NUMBER_LENGTH:
            raise FieldError(path, f"not a number: {show(value)}")
    elif absent(value):
        return None
    elif isinstance(value, bool):
        raise FieldError(path, f"a boolean where a number belongs: {value!r}")
    elif isinstance(value, (int, float, Decimal)):
        text = str(value) if not isinstance(value, int) or abs(value) < _HUGE else "inf"
    elif isinstance(value, str):
        text = value.strip()
        if percent:
            text = text.removesuffix("%").strip()
        if len(text) > NUMBER_LENGTH:
            raise FieldError(path, f"not a number: {show(value)}")
    else:
        raise FieldError(path, f"not a number: {show(value)}")
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        raise FieldError(path, f"not a number: {show(value)}") from None
    if not number.is_finite():
        raise FieldError(path, f"not a finite number: {show(value)}")
    if abs(number) >= limit:
        raise FieldError(path, f"{show(value)} is beyond the schema's range (below {limit:.0E})")
    if minimum is not None and number < minimum:
        raise FieldError(path, f"{show(value)} is below {minimum}")
    return number


def percentage(value: Any, path: str) -> Decimal | None:
    """A percentage (``"100%"`` → ``100``) within ``numeric(9,4)``."""
    return decimal(value, path, limit=PERCENT_LIMIT, percent=True)


def integer(value: Any, path: str, *, bounds: tuple[int, int] = INT64) -> int | None:
    """An integer within *bounds* (64-bit by default; :data:`INT32` for counts).

    Integral floats (``3.0``) and digit strings count; ``"3.5"``, booleans do not.
    """
    if absent(value):
        return None
    if isinstance(value, bool):
        raise FieldError(path, f"a boolean where an integer belongs: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise FieldError(path, f"not an integer: {show(value)}")
    low, high = bounds
    if not low <= number <= high:
        raise FieldError(path, f"{show(value)} is out of range [{low}, {high}]")
    return number


def count(value: Any, path: str) -> int | None:
    """A non-negative count that fits the schema's 32-bit ``integer`` columns."""
    if type(value) is int and 0 <= value <= _INT32_MAX:  # the common case
        return value
    return integer(value, path, bounds=(0, INT32[1]))


def boolean(value: Any, path: str) -> bool | None:
    """``true``/``false``, ``1``/``0`` (numbers or text, any case); ``None``/``""`` → None."""
    if value is None or isinstance(value, bool):  # the common cases first
        return value
    if absent(value):
        return None
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise FieldError(path, f"not a boolean: {show(value)}")


# --------------------------------------------------------------------------- containers


def sequence(value: Any, path: str) -> list[Any]:
    """A JSON array; ``None``/``""`` → ``[]``."""
    if type(value) is list:
        return value
    if absent(value):
        return []
    if not isinstance(value, list):
        raise FieldError(path, f"not a list: {show(value)}")
    return value


def mapping(value: Any, path: str) -> dict[str, Any]:
    """A JSON object; ``None``/``""`` → ``{}``."""
    if type(value) is dict:
        return value
    if absent(value):
        return {}
    if not isinstance(value, dict):
        raise FieldError(path, f"not an object: {show(value)}")
    return value


# --------------------------------------------------------------------------- text


def clean(text: str) -> str:
    """*text* storable as UTF-8 text everywhere: NUL bytes removed, lone UTF-16
    surrogates (a truncated emoji) replaced by U+FFFD, split pairs joined."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def text(value: Any, path: str, *, max_length: int | None = None) -> str | None:
    """Text (numbers as their decimal text), :func:`clean`, at most *max_length* long."""
    if value is None:
        return None
    if type(value) is str:
        if not value.isascii() or "\x00" in value:
            value = clean(value)
        if max_length is not None and len(value) > max_length:
            raise FieldError(path, f"{len(value)} characters, more than {max_length}")
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise FieldError(path, f"not text: {show(value)}")
    if isinstance(value, int):
        if abs(value) >= _HUGE:
            raise FieldError(path, f"number too long for text: {show(value)}")
        value = str(value)
    value = clean(value)
    if max_length is not None and len(value) > max_length:
        raise FieldError(path, f"{len(value)} characters, more than {max_length}")
    return value


def raw_text(value: Any, path: str, *, max_length: int = ID_LENGTH) -> str | None:
    """A scalar exactly as received, as text (``price_raw``): numbers in their JSON
    spelling, text :func:`clean`ed and stripped, cut to *max_length* (the raw payload
    keeps the whole value)."""
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value)[:max_length]
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)[:max_length] if abs(value) < _HUGE_TEXT else "<huge number>"
    return (text(value, path) or "").strip()[:max_length]


def identifier(value: Any, path: str, *, digits: bool = False) -> str:
    """A required id: text of 1 to 64 characters (only ASCII digits with *digits*)."""
    if type(value) is int and 0 <= value < _HUGE:  # the common case: its digits
        return str(value)
    ident = text(value, path, max_length=ID_LENGTH)
    if ident is None or not ident.strip():
        raise FieldError(path, "missing")
    ident = ident.strip()
    if digits and not (ident.isascii() and ident.isdigit()):
        raise FieldError(path, f"not numeric: {show(ident)}")
    return ident


def optional_id(value: Any, path: str) -> str | None:
    """An optional id (shop, seller): ``None``/``""`` → None, else :func:`identifier`."""
    return None if absent(value) else identifier(value, path)


def https_url(value: Any, path: str = "url", *, base: str | None = None) -> str | None:
    """``//host/x`` and ``http://host/x`` → ``https://host/x``; a relative path is joined
    to *base* when given; other schemes stay as they are (validation judges them)."""
    if type(value) is str and value.startswith("https://") and value.isascii():
        if "\x00" not in value:  # the common case: nothing to clean nor to change
            return value.strip()
    if absent(value):
        return None
    url = text(value, path)
    assert url is not None
    url = url.strip()
    if url.startswith("//"):
        return "https:" + url
    if url.startswith("http://"):
        return "https://" + url.removeprefix("http://")
    if url.startswith("https://"):
        return url
    if base is not None and "://" not in url:
        return base + url.lstrip("/")
    return url


# --------------------------------------------------------------------------- headers


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: delta-seconds or an HTTP-date (RFC 9110),
    at most :data:`MAX_RETRY_AFTER`; ``None`` when absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(0.0, when - (time.time() if now is None else now)), MAX_RETRY_AFTER)
