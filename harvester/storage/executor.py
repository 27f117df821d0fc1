"""Multi-row statement execution: one compiled statement, many rows, one driver call.

``session.execute(stmt, rows)`` builds and processes a parameter dictionary per
row in Python (≈ 40 µs per row and statement), which dominated batch writes.
:func:`execute_many` compiles the statement once per dialect and row shape with
SQLAlchemy's public compiler API (``stmt.compile(...)``, ``compiled.binds``,
``compiled.positiontup``), looks up each column type's converter once through
its documented ``TypeEngine.bind_processor(dialect)`` (the JSON, Numeric and
DateTime conversions SQLAlchemy itself applies), takes the rows as tuples,
turns them into columns (``zip``), checks and converts each column with a few
calls, and hands the rows to the driver with ``Connection.exec_driver_sql`` —
one ``executemany``.

Values are held to the column's declared limits on every backend — text within
its ``String(n)`` length and free of NUL bytes, integers within the column's
range, numbers within ``Numeric(p, s)`` — so that a record PostgreSQL would
refuse is refused on SQLite too (a ``ValueError`` naming the column), and the
writer dead-letters it the same way on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, Numeric, String, Table, bindparam
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


#: A column's values (one per row) in, the values to send out; raises ``ValueError``
#: for a value beyond the column's limits.
Convert = Callable[[Sequence[Any]], Sequence[Any]]
_NONE = type(None)


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled for one dialect and row shape, with its value converters."""

    sql: str
    positional: bool
    names: tuple[str, ...]
    #: the row's column for each parameter of the statement, in the statement's order
    order: tuple[int, ...]
    #: (parameter position, converter): the column's limits, then its type's bind processor
    converters: tuple[tuple[int, Convert], ...]


_PREPARED: dict[tuple[Any, ...], _Prepared] = {}


def _prepare(stmt: Any, dialect: Any, columns: tuple[str, ...]) -> _Prepared:
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    names = tuple(compiled.positiontup if compiled.positional else compiled.binds)
    order, converters = [], []
    for position, name in enumerate(names):
        bind = compiled.binds[name]
        if bind.key not in columns:
            raise ValueError(
                f"{bind.key}: a literal bound in the statement (use null() or a row key)"
            )
        order.append(columns.index(bind.key))
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        # the records of one answer share their timestamp: format it once a batch
        convert = _converter(processor, memoize=isinstance(bind.type, DateTime))
        check = _limit(bind.key, bind.type)
        if check is not None:
            convert = _checked(check, convert)
        if convert is not None:
            converters.append((position, convert))
    return _Prepared(compiled.string, compiled.positional, names, tuple(order), tuple(converters))


def _converter(processor: Any, *, memoize: bool) -> Convert | None:
    """*processor* (a type's bind processor, or None) applied to a column."""
    if processor is None:
        return None
    if processor(None) is not None:  # None is converted too
        return lambda values: list(map(processor, values))
    if memoize:

        def memoized(values: Sequence[Any]) -> Sequence[Any]:
            converted = {value: processor(value) for value in set(values)}
            return list(map(converted.__getitem__, values))

        return memoized
    return lambda values: [value if value is None else processor(value) for value in values]


def _checked(check: Convert, convert: Convert | None) -> Convert:
    if convert is None:
        return check
    return lambda values: convert(check(values))


def _limit(name: str, type_: Any) -> Convert | None:
    """A check of the column's declared limits, for a whole column at once: a few calls
    in C when every value is fine, and the value's own check (naming the fault) if not."""
    if isinstance(type_, String):
        return _column_check(_text(name, type_.length or 0), _text_fine(type_.length or 0))
    if isinstance(type_, Integer):
        bound = 2**63 if isinstance(type_, BigInteger) else 2**31
        return _column_check(_integer(name, bound), _range_fine({int, bool}, bound, -bound))
    if isinstance(type_, Numeric) and type_.precision is not None:
        limit = 10 ** (type_.precision - (type_.scale or 0))
        # floats are checked one by one (NaN compares false both ways)
        return _column_check(_number(name, limit), _range_fine({int, bool, Decimal}, limit))
    return None


def _column_check(one: Callable[[Any], Any], fine: Callable[[Sequence[Any]], bool]) -> Convert:
    def check(values: Sequence[Any]) -> Sequence[Any]:
        try:
            if fine(values):
                return values
        except ArithmeticError:  # Decimal NaN: its own check says so
            pass
        for value in values:
            if value is not None:
                one(value)
        return values

    return check


def _text_fine(length: int) -> Callable[[Sequence[Any]], bool]:
    def fine(values: Sequence[Any]) -> bool:
        if not set(map(type, values)) <= {str, _NONE}:
            return False
        present = list(filter(None, values))
        if "\x00" in "".join(present):
            return False
        return not length or not present or max(map(len, present)) <= length

    return fine


def _range_fine(
    types: set[type], upper: int, lower: int | None = None
) -> Callable[[Sequence[Any]], bool]:
    """All values of *types* and within ``lower <= v < upper`` (``-upper < v`` if no *lower*)."""
    allowed = {*types, _NONE}

    def fine(values: Sequence[Any]) -> bool:
        if not set(map(type, values)) <= allowed:
            return False
        present = list(filter(None, values))
        if not present:
            return True
        low, high = min(present), max(present)
        return (low >= lower if lower is not None else -upper < low) and high < upper

    return fine


def _text(name: str, length: int) -> Callable[[Any], Any]:
    def text(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"{name}: {type(value).__name__} where text belongs")
        if "\x00" in value:
            raise ValueError(f"{name}: text with a NUL byte")
        if length and len(value) > length:
            raise ValueError(f"{name}: {len(value)} characters, more than {length}")
        return value

    return text


def _integer(name: str, bound: int) -> Callable[[Any], Any]:
    def integer(value: Any) -> Any:
        if not isinstance(value, int) or not -bound <= value < bound:
            raise ValueError(f"{name}: {value} out of range")
        return value

    return integer


def _number(name: str, limit: int) -> Callable[[Any], Any]:
    def number(value: Any) -> Any:
        if not isinstance(value, (int, float, Decimal)) or not -limit < value < limit:
            raise ValueError(f"{name}: {value} out of range")
        return value

    return number


def execute_many(
    session: Session,
    key: str,
    build: Callable[[Session], Any],
    columns: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Run ``build(session)`` once per row of *rows* (values of *columns*, in that
    order), as ``session.execute(stmt, [dict(zip(columns, row)) ...])`` would; the
    compiled statement is cached under *key*, the dialect and *columns*. Values are
    checked and converted a column at a time."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    cache_key = (key, dialect.name, dialect.paramstyle, columns)
    prepared = _PREPARED.get(cache_key)
    if prepared is None:
        prepared = _PREPARED[cache_key] = _prepare(build(session), dialect, columns)
    data = list(zip(*rows, strict=True))
    values: list[Sequence[Any]] = [data[column] for column in prepared.order]
    for position, convert in prepared.converters:
        values[position] = convert(values[position])
    params: list[Any] = list(zip(*values, strict=True))
    if not prepared.positional:
        names = prepared.names
        params = [dict(zip(names, row, strict=True)) for row in params]
    connection.exec_driver_sql(prepared.sql, params)


#: (key, dialect, paramstyle, number of values) → (SQL, positional, value index per parameter)
_LOOKUPS: dict[tuple[Any, ...], tuple[str, bool, tuple[str, ...], tuple[int, ...]]] = {}


def fetch_rows(
    session: Session, key: str, build: Callable[[list[Any]], Any], values: Sequence[Any]
) -> list[Any]:
    """Rows of the ``SELECT`` that ``build(params)`` makes of ``bindparam`` objects, one
    per value of *values* (e.g. ``col.in_(params[1:])``), as the driver returns them.
    Compiled once per dialect and number of values under *key*, where ``session.execute``
    renders an expanding ``IN`` and builds its result for every call. For columns the
    driver returns as their Python values (text, integers): no result processing."""
    connection = session.connection()
    dialect = connection.dialect
    cache_key = (key, dialect.name, dialect.paramstyle, len(values))
    prepared = _LOOKUPS.get(cache_key)
    if prepared is None:
        params = [bindparam(f"v{i}") for i in range(len(values))]
        compiled = build(params).compile(dialect=dialect)
        names = tuple(compiled.positiontup if compiled.positional else compiled.binds)
        order = tuple(int(compiled.binds[name].key[1:]) for name in names)
        prepared = _LOOKUPS[cache_key] = (compiled.string, compiled.positional, names, order)
    sql, positional, names, order = prepared
    ordered = [values[i] for i in order]
    bound: Any = tuple(ordered) if positional else dict(zip(names, ordered, strict=True))
    return list(connection.exec_driver_sql(sql, bound).all())


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
