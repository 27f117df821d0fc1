"""Export a table or a query result to CSV, JSON Lines or Parquet, streaming in chunks.

The format is given, or comes from the output's extension (``.csv``, ``.jsonl``,
``.parquet``); ``-`` writes to standard output (CSV unless given). Tables and queries
go one way: every result column named like a column of the harvester schema
(``price``, ``observed_at``, ``delisted_at``, ``is_jxhy``, ``extra``, ...) is read as
that column's model type, so values have their model types on every backend
(``Decimal`` money, UTC timestamps, booleans, parsed JSON) and, in Parquet, money is
``decimal128(18, 4)``, timestamps ``timestamp[us, tz=UTC]``, flags ``bool`` and JSON
columns JSON text. Other query columns (``count(*)``, computed values) get a Parquet
type inferred from the first rows (up to ``SAMPLE``); a decimal column keeps the
largest scale seen there. CSV and JSON Lines write timestamps in ISO 8601 with their
UTC offset (``2026-11-29T03:00:00+00:00``) and money as exact decimal text. Parquet
uses pyarrow (``pip install -e '.[parquet]'``).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, Numeric, select, text

from harvester.storage.models import Base

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.types import TypeEngine

FORMATS = ("csv", "jsonl", "parquet")
CHUNK = 5000
SAMPLE = 50_000
STDOUT = "-"


def _schema_types() -> dict[str, TypeEngine[Any]]:
    """Column name → model type, for the names that mean one type in every table."""
    types: dict[str, TypeEngine[Any]] = {}
    clashes: set[str] = set()
    for table in Base.metadata.tables.values():
        for column in table.columns:
            known = types.setdefault(column.name, column.type)
            if repr(known) != repr(column.type):
                clashes.add(column.name)
    return {name: kind for name, kind in types.items() if name not in clashes}


def _query_columns(engine: Engine, query: str) -> list[str]:
    """The column names of *query*'s result, without running it (``limit 0``)."""
    probe = text(f"select * from ({query}) as harvester_export limit 0")  # noqa: S608
    with engine.connect() as connection:
        return list(connection.execute(probe).keys())


def _statement(
    engine: Engine, table: str | None, query: str | None
) -> tuple[Any, dict[str, TypeEngine[Any]]]:
    """The statement to run and the model type of each result column that has one."""
    if (table is None) == (query is None):
        raise ValueError("give either a table name or --query")
    if table is not None:
        if table in Base.metadata.tables:
            model = Base.metadata.tables[table]
            return select(model), {column.name: column.type for column in model.columns}
        if not table.replace("_", "").isalnum():
            raise ValueError(f"not a table name: {table!r}")
        query = f"select * from {table}"  # noqa: S608 - a checked identifier
    assert query is not None
    query = query.strip().rstrip(";")
    known = _schema_types()
    try:
        names = _query_columns(engine, query)
    except Exception:  # noqa: BLE001 - not a plain select: run it as it is, types inferred
        return text(query), {}
    types = {name: known[name] for name in names if name in known}
    return text(query).columns(**types), types


def _chunks(engine: Engine, statement: Any) -> tuple[list[str], Iterator[Sequence[Any]]]:
    connection = engine.connect()
    try:
        result = connection.execution_options(stream_results=True).execute(statement)
    except Exception:
        connection.close()
        raise
    columns = list(result.keys())

    def rows() -> Iterator[Sequence[Any]]:
        try:
            while chunk := result.fetchmany(CHUNK):
                yield chunk
        finally:
            connection.close()

    return columns, rows()


def _json_text(value: Any) -> Any:
    """dict and list values (JSON columns) as JSON text; the rest unchanged."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def _utc(value: datetime) -> datetime:
    """A timestamp in UTC (naive ones, as SQLite returns them, are UTC already)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _write_csv(handle: IO[str], columns: list[str], chunks: Iterator[Sequence[Any]]) -> int:
    written = 0
    writer = csv.writer(handle)
    writer.writerow(columns)
    for chunk in chunks:
        writer.writerows([[_plain(_json_text(v)) for v in row] for row in chunk])
        written += len(chunk)
    return written


def _write_jsonl(handle: IO[str], columns: list[str], chunks: Iterator[Sequence[Any]]) -> int:
    written = 0
    for chunk in chunks:
        for row in chunk:
            record = dict(zip(columns, row, strict=True))
            handle.write(json.dumps(record, ensure_ascii=False, default=_plain) + "\n")
        written += len(chunk)
    return written


def _arrow_type(kind: TypeEngine[Any]) -> Any:
    """The Parquet (arrow) type of a model column type."""
    import pyarrow as pa

    if isinstance(kind, Numeric) and kind.scale is not None:
        return pa.decimal128(kind.precision or 38, kind.scale)
    if isinstance(kind, DateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer):
        return pa.int64()
    if isinstance(kind, JSON):
        return pa.string()
    return pa.string()


def _inferred_type(values: list[Any]) -> Any:
    import pyarrow as pa

    if not values:
        return pa.string()
    if all(isinstance(v, Decimal) for v in values):
        scale = max(max(-int(v.as_tuple().exponent), 0) for v in values)
        return pa.decimal128(38, min(scale, 18))
    if all(isinstance(v, datetime) for v in values):
        return pa.timestamp("us", tz="UTC")
    return pa.array(values).type


def _write_parquet(
    handle: Any,
    columns: list[str],
    chunks: Iterator[Sequence[Any]],
    types: dict[str, TypeEngine[Any]],
) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffered: list[Sequence[Any]] = []
    if any(name not in types for name in columns):
        for chunk in chunks:  # a sample to infer the other columns' types from
            buffered.extend(chunk)
            if len(buffered) >= SAMPLE:
                break
    fields = []
    for index, name in enumerate(columns):
        if name in types:
            fields.append((name, _arrow_type(types[name])))
        else:
            sample = [_json_text(row[index]) for row in buffered if row[index] is not None]
            fields.append((name, _inferred_type(sample)))
    schema = pa.schema(fields)

    def batches() -> Iterator[Sequence[Any]]:
        if buffered:
            yield buffered
        yield from chunks

    def cell(value: Any, field: Any) -> Any:
        value = _json_text(value)
        if isinstance(value, Decimal) and pa.types.is_decimal(field.type):
            return value.quantize(Decimal(1).scaleb(-field.type.scale))
        if isinstance(value, datetime) and pa.types.is_timestamp(field.type):
            return _utc(value)
        return value

    written = 0
    with pq.ParquetWriter(handle, schema) as writer:
        for rows in batches():
            arrays = [
                pa.array([cell(row[i], field) for row in rows], type=field.type)
                for i, field in enumerate(schema)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            written += len(rows)
    return written


def output_format(output: str, fmt: str | None) -> str:
    """*fmt*, else the format named by *output*'s extension (CSV for standard output)."""
    if not fmt:
        fmt = "csv" if output == STDOUT else Path(output).suffix.lstrip(".")
    fmt = fmt.lower().replace("jsonlines", "jsonl")
    if fmt not in FORMATS:
        raise ValueError(
            f"unknown format {fmt!r}: name the output *.csv, *.jsonl or *.parquet, or give "
            "--format csv|jsonl|parquet"
        )
    return fmt


def export(
    engine: Engine,
    output: Path | str,
    *,
    table: str | None = None,
    query: str | None = None,
    fmt: str | None = None,
) -> int:
    """Write the rows to *output* (a path, or ``-`` for standard output) as *fmt*
    (default: from its extension); return how many."""
    fmt = output_format(str(output), fmt)
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError("Parquet needs pyarrow: pip install -e '.[parquet]'") from None
    statement, types = _statement(engine, table, query)
    columns, chunks = _chunks(engine, statement)
    if str(output) == STDOUT:
        if fmt == "parquet":
            written = _write_parquet(sys.stdout.buffer, columns, chunks, types)
            sys.stdout.buffer.flush()
            return written
        writer = _write_csv if fmt == "csv" else _write_jsonl
        written = writer(sys.stdout, columns, chunks)
        sys.stdout.flush()
        return written
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        return _write_parquet(path, columns, chunks, types)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = _write_csv if fmt == "csv" else _write_jsonl
        return writer(handle, columns, chunks)
