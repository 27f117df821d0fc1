"""Export a table or a query result to CSV, JSON Lines or Parquet, streaming in chunks.

Formats come from the output's extension (``.csv``, ``.jsonl``, ``.parquet``).
Parquet uses pyarrow (``pip install harvester[parquet]``); money (``Decimal``)
becomes Parquet decimals, timestamps stay timezone-aware.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from sqlalchemy import Engine

FORMATS = ("csv", "jsonl", "parquet")
CHUNK = 5000


def _query(table: str | None, query: str | None) -> str:
    if (table is None) == (query is None):
        raise ValueError("give either a table name or --query")
    if table is not None:
        if not table.replace("_", "").isalnum():
            raise ValueError(f"not a table name: {table!r}")
        return f"select * from {table}"  # noqa: S608 - a checked identifier
    assert query is not None
    return query


def _chunks(engine: Engine, sql: str) -> tuple[list[str], Iterator[Sequence[Any]]]:
    connection = engine.connect()
    result = connection.execution_options(stream_results=True).execute(text(sql))
    columns = list(result.keys())

    def rows() -> Iterator[Sequence[Any]]:
        try:
            while chunk := result.fetchmany(CHUNK):
                yield chunk
        finally:
            connection.close()

    return columns, rows()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def export(engine: Engine, output: Path, *, table: str | None = None, query: str | None = None) -> int:
    """Write the rows to *output*; return how many were written."""
    fmt = output.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: name the output *.csv, *.jsonl or *.parquet")
    columns, chunks = _chunks(engine, _query(table, query))
    output.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    if fmt == "csv":
        with output.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for chunk in chunks:
                writer.writerows([[_plain(v) for v in row] for row in chunk])
                written += len(chunk)
    elif fmt == "jsonl":
        with output.open("w", encoding="utf-8") as handle:
            for chunk in chunks:
                for row in chunk:
                    handle.write(json.dumps(dict(zip(columns, map(_plain, row), strict=True)), ensure_ascii=False) + "\n")
                written += len(chunk)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        for chunk in chunks:
            batch = pa.Table.from_pylist([dict(zip(columns, row, strict=True)) for row in chunk])
            if writer is None:
                writer = pq.ParquetWriter(output, batch.schema)
            writer.write_table(batch.cast(writer.schema) if batch.schema != writer.schema else batch)
            written += len(chunk)
        if writer is None:
            pq.write_table(pa.table({name: pa.array([], pa.string()) for name in columns}), output)
        else:
            writer.close()
    return written
