"""Spool: batches the database would not take, kept on disk and replayed later.

One JSON Lines file per batch (``<spool dir>/batch-<run>-<time>-<n>.jsonl``): a
header line ``{"run_id": ...}`` then one line per item, tagged with its type.
``Decimal`` and ``datetime`` values keep their exact type (``{"$decimal": "6.80"}``,
``{"$datetime": "..."}``), so a replayed batch writes the same rows.
``scrapy replay_spool`` (or :func:`replay`) writes every spooled batch through the
same repository path — idempotently — and deletes each file once committed.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, fields
from datetime import datetime
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from harvester import items
from harvester.storage import repository

if TYPE_CHECKING:
    from sqlalchemy import Engine

logger = logging.getLogger(__name__)
_sequence = count()
_TYPES = {cls.__name__: cls for cls in (items.Product, items.RelatedEdge, items.DeadLetter)}


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$decimal"}:
            return Decimal(value["$decimal"])
        if set(value) == {"$datetime"}:
            return datetime.fromisoformat(value["$datetime"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _item(kind: str, data: dict[str, Any]) -> Any:
    if kind == "Product":
        data["skus"] = [items.Sku(**s) for s in data.get("skus", [])]
        data["price_tiers"] = [items.PriceTier(**t) for t in data.get("price_tiers", [])]
    cls = _TYPES[kind]
    return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


def write(directory: Path, batch: repository.Batch, run_id: int | None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"batch-{run_id}-{time.time_ns()}-{next(_sequence)}.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps({"run_id": run_id}) + "\n")
        for item in (*batch.products, *batch.edges, *batch.dead_letters):
            handle.write(json.dumps({"type": type(item).__name__, "item": _encode(asdict(item))}, ensure_ascii=False) + "\n")
    return path


def read(path: Path) -> tuple[repository.Batch, int | None]:
    batch = repository.Batch()
    with path.open(encoding="utf-8") as handle:
        run_id = json.loads(handle.readline())["run_id"]
        for line in handle:
            entry = json.loads(line)
            item = _item(entry["type"], _decode(entry["item"]))
            {"Product": batch.products, "RelatedEdge": batch.edges, "DeadLetter": batch.dead_letters}[entry["type"]].append(item)
    return batch, run_id


def replay(engine: Engine, directory: Path) -> tuple[int, int]:
    """Write every spooled batch; return (files, items) replayed. Stops at the first failure."""
    files = replayed = 0
    for path in sorted(directory.glob("batch-*.jsonl")):
        batch, run_id = read(path)
        with Session(engine) as session, session.begin():
            repository.write_batch(session, batch, run_id)
        path.unlink()
        files += 1
        replayed += len(batch)
        logger.info("Replayed %s (%d items)", path.name, len(batch))
    return files, replayed
