"""Multi-row statement execution: one compiled statement, many rows, one driver call.

``session.execute(stmt, rows)`` builds and processes a parameter dictionary per
row in Python (≈ 40 µs per row and statement), which dominated batch writes.
:func:`execute_many` compiles the statement once per dialect and row shape with
SQLAlchemy's public compiler API (``stmt.compile(...)``, ``compiled.binds``,
``compiled.positiontup``), looks up each column type's converter once through
its documented ``TypeEngine.bind_processor(dialect)`` (the JSON, Numeric and
DateTime conversions SQLAlchemy itself applies), takes the values from the rows
in C (``itemgetter``) and hands them to the driver with
``Connection.exec_driver_sql`` — one ``executemany``.

Values are held to the column's declared limits on every backend — text within
its ``String(n)`` length and free of NUL bytes, integers within the column's
range, numbers within ``Numeric(p, s)`` — so that a record PostgreSQL would
refuse is refused on SQLite too (a ``ValueError`` naming the column), and the
writer dead-letters it the same way on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, Numeric, String, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

#: Product ids per ``IN (...)``: under SQLite's parameter limit, with room to spare.
KEY_CHUNK = 300


def dialect_insert(session: Session, table: Table) -> Any:
    """The dialect's own ``INSERT`` (with ``on_conflict_do_*``)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upserts are implemented for SQLite and PostgreSQL, not {name}")


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled for one dialect and row shape, with its value converters."""

    sql: str
    positional: bool
    names: tuple[str, ...]
    values: Callable[[dict[str, Any]], Any]
    #: (position, converter, skip None, memoize): the column types' own bind processors
    converters: tuple[tuple[int, Any, bool, bool], ...]


_PREPARED: dict[tuple[Any, ...], _Prepared] = {}


def _prepare(stmt: Any, dialect: Any, columns: tuple[str, ...]) -> _Prepared:
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    names = tuple(compiled.positiontup if compiled.positional else compiled.binds)
    keys, converters = [], []
    for position, name in enumerate(names):
        bind = compiled.binds[name]
        if bind.key not in columns:
            raise ValueError(
                f"{bind.key}: a literal bound in the statement (use null() or a row key)"
            )
        keys.append(bind.key)
        base = bind.type.dialect_impl(dialect).bind_processor(dialect)
        processor = _checked(bind.key, bind.type, base)
        if processor is not None:
            converters.append(
                (
                    position,
                    processor,
                    base is None or base(None) is None,  # None stays None: no call needed
                    # the records of one answer share their timestamp: format it once a batch
                    isinstance(bind.type, DateTime),
                )
            )
    getter = itemgetter(*keys)
    values = getter if len(keys) > 1 else (lambda row: (getter(row),))
    return _Prepared(compiled.string, compiled.positional, names, values, tuple(converters))


def _checked(name: str, type_: Any, processor: Any) -> Any:
    """*processor* preceded by a check of the column's limits (None: no conversion)."""
    check = _limit(name, type_)
    if check is None:
        return processor
    if processor is None:
        return check
    return lambda value: processor(value if value is None else check(value))


def _limit(name: str, type_: Any) -> Callable[[Any], Any] | None:
    if isinstance(type_, String):
        length = type_.length or 0

        def text(value: Any) -> Any:
            if not isinstance(value, str):
                raise ValueError(f"{name}: {type(value).__name__} where text belongs")
            if "\x00" in value:
                raise ValueError(f"{name}: text with a NUL byte")
            if length and len(value) > length:
                raise ValueError(f"{name}: {len(value)} characters, more than {length}")
            return value

        return text
    if isinstance(type_, Integer):
        bound = 2**63 if isinstance(type_, BigInteger) else 2**31

        def integer(value: Any) -> Any:
            if not isinstance(value, int) or not -bound <= value < bound:
                raise ValueError(f"{name}: {value} out of range")
            return value

        return integer
    if isinstance(type_, Numeric) and type_.precision is not None:
        limit = 10 ** (type_.precision - (type_.scale or 0))

        def number(value: Any) -> Any:
            if not isinstance(value, (int, float, Decimal)) or not -limit < value < limit:
                raise ValueError(f"{name}: {value} out of range")
            return value

        return number
    return None


def execute_many(
    session: Session, key: str, build: Callable[[Session], Any], rows: list[dict[str, Any]]
) -> None:
    """Run ``build(session)`` once per row of *rows* (all of one shape), as
    ``session.execute(stmt, rows)`` would; the compiled statement is cached under
    *key*, the dialect and the row shape."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    columns = tuple(rows[0])
    cache_key = (key, dialect.name, dialect.paramstyle, columns)
    prepared = _PREPARED.get(cache_key)
    if prepared is None:
        prepared = _PREPARED[cache_key] = _prepare(build(session), dialect, columns)
    converters = [
        (position, _memoized(processor) if memoize else processor, skip_none)
        for position, processor, skip_none, memoize in prepared.converters
    ]
    params: list[Any] = []
    for row in rows:
        values = list(prepared.values(row))
        for position, convert, skip_none in converters:
            value = values[position]
            if value is not None or not skip_none:
                values[position] = convert(value)
        params.append(
            tuple(values) if prepared.positional else dict(zip(prepared.names, values, strict=True))
        )
    connection.exec_driver_sql(prepared.sql, params)


def _memoized(processor: Any) -> Any:
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            cache[value] = converted = processor(value)
            return converted

    return convert


def jsonable(value: Any) -> Any:
    """*value* with decimals and datetimes as strings (for JSON columns)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def by_source(keys: Iterable[tuple[str, str]]) -> Iterator[tuple[str, list[str]]]:
    """(source, product ids) chunks: ``source = ? AND product_id IN (...)`` uses the
    unique index on every backend, where a row-value ``IN`` may scan the table on SQLite."""
    grouped: dict[str, list[str]] = {}
    for source, product_id in keys:
        grouped.setdefault(source, []).append(product_id)
    for source, ids in grouped.items():
        for start in range(0, len(ids), KEY_CHUNK):
            yield source, ids[start : start + KEY_CHUNK]


def last_per_key(rows: Iterable[Any], key: Any) -> list[Any]:
    """Keep the last row per key: PostgreSQL refuses to upsert one row twice in a statement."""
    return list({key(row): row for row in rows}.values())
