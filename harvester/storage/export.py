"""Export a table or a query result to CSV, JSON Lines or Parquet, streaming in chunks.

The format is given, or comes from the output's extension (``.csv``, ``.jsonl``,
``.parquet``). A table of the harvester schema is read through its model, so
values have their model types on every backend (``Decimal`` money, timestamps,
parsed JSON) and its Parquet schema comes from the model: money as
``decimal128(18, 4)``, timestamps in UTC, JSON columns as JSON text. A query's
Parquet schema is inferred from its first rows (up to ``SAMPLE`` rows); a decimal
column keeps the largest scale seen there. Parquet uses pyarrow
(``pip install -e '.[parquet]'``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, Numeric, select, text

from harvester.storage.models import Base

if TYPE_CHECKING:
    from sqlalchemy import Engine, Table

FORMATS = ("csv", "jsonl", "parquet")
CHUNK = 5000
SAMPLE = 50_000


def _statement(table: str | None, query: str | None) -> tuple[Any, Table | None]:
    if (table is None) == (query is None):
        raise ValueError("give either a table name or --query")
    if query is not None:
        return text(query), None
    assert table is not None
    if table in Base.metadata.tables:
        model = Base.metadata.tables[table]
        return select(model), model
    if not table.replace("_", "").isalnum():
        raise ValueError(f"not a table name: {table!r}")
    return text(f"select * from {table}"), None  # noqa: S608 - a checked identifier


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


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _write_csv(output: Path, columns: list[str], chunks: Iterator[Sequence[Any]]) -> int:
    written = 0
    with output.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for chunk in chunks:
            writer.writerows([[_plain(_json_text(v)) for v in row] for row in chunk])
            written += len(chunk)
    return written


def _write_jsonl(output: Path, columns: list[str], chunks: Iterator[Sequence[Any]]) -> int:
    written = 0
    with output.open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            for row in chunk:
                record = dict(zip(columns, row, strict=True))
                handle.write(json.dumps(record, ensure_ascii=False, default=_plain) + "\n")
            written += len(chunk)
    return written


def _model_schema(table: Table) -> Any:
    import pyarrow as pa

    def arrow(column: Any) -> Any:
        kind = column.type
        if isinstance(kind, Numeric) and kind.scale is not None:
            return pa.decimal128(kind.precision or 38, kind.scale)
        if isinstance(kind, DateTime):
            return pa.timestamp("us", tz="UTC") if kind.timezone else pa.timestamp("us")
        if isinstance(kind, Boolean):
            return pa.bool_()
        if isinstance(kind, Integer):
            return pa.int64()
        if isinstance(kind, JSON):
            return pa.string()
        return pa.string()

    return pa.schema([(column.name, arrow(column)) for column in table.columns])


def _inferred_schema(columns: list[str], rows: Sequence[Sequence[Any]]) -> Any:
    import pyarrow as pa

    types = []
    for index, name in enumerate(columns):
        values = [row[index] for row in rows if row[index] is not None]
        if not values:
            types.append((name, pa.string()))
        elif all(isinstance(v, Decimal) for v in values):
            scale = max(max(-int(v.as_tuple().exponent), 0) for v in values)
            types.append((name, pa.decimal128(38, min(scale, 18))))
        else:
            types.append((name, pa.array(values).type))
    return pa.schema(types)


def _write_parquet(
    output: Path, columns: list[str], chunks: Iterator[Sequence[Any]], table: Table | None
) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffered: list[Sequence[Any]] = []
    if table is not None:
        schema = _model_schema(table)
    else:
        for chunk in chunks:  # a sample to infer the schema from
            buffered.extend(chunk)
            if len(buffered) >= SAMPLE:
                break
        schema = _inferred_schema(columns, [[_json_text(v) for v in row] for row in buffered])

    def batches() -> Iterator[Sequence[Any]]:
        if buffered:
            yield buffered
        yield from chunks

    def cell(value: Any, field: Any) -> Any:
        value = _json_text(value)
        if isinstance(value, Decimal) and pa.types.is_decimal(field.type):
            return value.quantize(Decimal(1).scaleb(-field.type.scale))
        return value

    written = 0
    with pq.ParquetWriter(output, schema) as writer:
        for rows in batches():
            arrays = [
                pa.array([cell(row[i], field) for row in rows], type=field.type)
                for i, field in enumerate(schema)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            written += len(rows)
    return written


def export(
    engine: Engine,
    output: Path,
    *,
    table: str | None = None,
    query: str | None = None,
    fmt: str | None = None,
) -> int:
    """Write the rows to *output* as *fmt* (default: from its extension); return how many."""
    fmt = (fmt or output.suffix.lstrip(".")).lower().replace("jsonlines", "jsonl")
    if fmt not in FORMATS:
        raise ValueError(
            f"unknown format {fmt!r}: name the output *.csv, *.jsonl or *.parquet, or give --format"
        )
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError("Parquet needs pyarrow: pip install -e '.[parquet]'") from None
    statement, model = _statement(table, query)
    columns, chunks = _chunks(engine, statement)
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        return _write_csv(output, columns, chunks)
    if fmt == "jsonl":
        return _write_jsonl(output, columns, chunks)
    return _write_parquet(output, columns, chunks, model)
