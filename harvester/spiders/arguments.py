"""Spider arguments as typed models, checked once before any request.

Each spider declares its ``-a`` arguments as a pydantic model (the habit of
zyte-spider-templates' ``params.py``): a title and description per field, enums for
choices, ``extra="forbid"``. :meth:`SpiderArguments.parse` turns every mistake into
one :class:`ArgumentError` line — an unknown argument with a "did you mean", a bad
value with the argument's name — and :meth:`SpiderArguments.describe` is what
``scrapy crawl SPIDER -h`` prints.

Id lists take ``a,b,c`` or ``@path/to/file`` (one id per line, ``#`` comments).
Batch-size settings are checked here too (:func:`batch_size`), before the run starts.
"""

from __future__ import annotations

import difflib
import enum
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from scrapy.exceptions import UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Self

    from pydantic_core import ErrorDetails

#: Arguments other programs add to every crawl: Scrapyd's job id.
RESERVED = frozenset({"_job"})


class ArgumentError(UsageError):
    """A spider argument or setting is missing or malformed (raised before any request)."""


def read_ids(value: str | None) -> list[str]:
    """Split ``a,b,c`` (or ``@path/to/file`` with one id per line) into unique ids."""
    if not value:
        return []
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise ValueError(f"file {path} does not exist")
        raw = [line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        raw = value.split(",")
    return list(dict.fromkeys(item.strip() for item in raw if item.strip()))


def _ids(value: Any) -> Any:
    return read_ids(value) if isinstance(value, str) or value is None else value


def _numeric_ids(value: Any) -> Any:
    ids = _ids(value)
    bad = [item for item in ids if not str(item).isdigit()]
    if bad:
        raise ValueError(f"ids must be numeric, got {', '.join(map(repr, bad[:5]))}")
    return ids


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


#: ``a,b,c`` or ``@file``: unique ids, in order.
Ids = Annotated[list[str], BeforeValidator(_ids)]
#: The same, digits only.
NumericIds = Annotated[list[str], BeforeValidator(_numeric_ids)]
#: A non-negative decimal; empty means unset.
Price = Annotated[Decimal | None, BeforeValidator(_blank_is_none)]
#: An integer; empty means unset.
OptionalInt = Annotated[int | None, BeforeValidator(_blank_is_none)]
#: Upper-cased text (currency and language codes).
Upper = BeforeValidator(_upper)
#: Empty means unset.
Blank = BeforeValidator(_blank_is_none)


def choices(name: str, values: tuple[str, ...]) -> type[enum.StrEnum]:
    """A documented enum of a provider's allowed values."""
    return enum.StrEnum(name, {value: value for value in values})  # type: ignore[return-value]


class SpiderArguments(BaseModel):
    """Base of every spider's argument model: unknown arguments are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    #: ``(names, message)``: one of *names* must be given, else *message* (checked first).
    required: ClassVar[tuple[tuple[tuple[str, ...], str], ...]] = ()

    @classmethod
    def parse(cls, kwargs: Mapping[str, Any]) -> Self:
        """Validate *kwargs* (``-a`` values) or raise one :class:`ArgumentError` line."""
        given = {name: value for name, value in kwargs.items() if name not in RESERVED}
        for name in given:
            if name not in cls.model_fields:
                raise ArgumentError(cls.unknown(name))
        cls._check_required(given)
        try:
            arguments = cls.model_validate(given)
        except ValidationError as exc:
            raise ArgumentError(_one_line(exc.errors()[0])) from None
        cls._check_required(arguments.model_dump())  # e.g. an @file without ids
        return arguments

    @classmethod
    def _check_required(cls, values: Mapping[str, Any]) -> None:
        for names, message in cls.required:
            if not any(values.get(name) not in (None, "", []) for name in names):
                raise ArgumentError(message)

    @classmethod
    def unknown(cls, name: str) -> str:
        match = difflib.get_close_matches(name, list(cls.model_fields), n=1, cutoff=0.6)
        hint = f"did you mean {match[0]}?" if match else f"known: {', '.join(cls.model_fields)}"
        return f"unknown argument {name}; {hint}"

    @classmethod
    def describe(cls) -> str:
        """The arguments, their descriptions, choices and defaults, for ``-h``."""
        lines = []
        own = cls.__dict__.get("__annotations__", {})
        names = sorted(cls.model_fields, key=lambda name: name not in own)  # own ones first
        for name in names:
            field = cls.model_fields[name]
            lines.append(f"  -a {name}=...  {field.title or ''}{cls._required_note(name)}")
            if field.description:
                lines.append(f"      {field.description}")
            kind = _choices(field.annotation)
            if kind:
                lines.append(f"      one of: {', '.join(kind)}")
            default = field.get_default(call_default_factory=True)
            if default not in (None, [], ""):
                lines.append(f"      default: {default}")
        return "\n".join(lines)

    @classmethod
    def _required_note(cls, name: str) -> str:
        for names, _message in cls.required:
            if name in names:
                others = [other for other in names if other != name]
                return f" (required{', or ' + ' or '.join(others) if others else ''})"
        return ""


def _choices(annotation: Any) -> list[str]:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return [member.value for member in candidate]
    return []


_MESSAGES = {
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "decimal_parsing": "must be a decimal number",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "greater_than": "must be greater than {gt}",
    "enum": "must be one of {expected}",
    "missing": "is required",
}


def _one_line(error: ErrorDetails) -> str:
    """``-a name=value: what is wrong`` (or the model's own message)."""
    template = _MESSAGES.get(error["type"])
    if template is not None:
        message = template.format(**error.get("ctx", {}))
    else:
        message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:
        return message
    name = error["loc"][0]
    value = error.get("input")
    if error["type"] == "missing":
        return f"-a {name} {message}"
    return f"-a {name}={value}: {message}" if isinstance(value, str) else f"-a {name}: {message}"


def batch_size(settings: Any, name: str, *, default: int, maximum: int) -> int:
    """Setting *name* (ids or offers per call), checked against the API's *maximum*."""
    value = settings.get(name)
    if value in (None, ""):
        return default
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"-s {name}={value!r}: must be an integer") from None
    if not 1 <= size <= maximum:
        raise ArgumentError(f"-s {name}={size}: must be 1 to {maximum} (the API's maximum)")
    return size
