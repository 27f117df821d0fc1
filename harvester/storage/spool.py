"""Spool: batches the database would not take, kept on disk and replayed later.

One JSON Lines file per batch (``<spool dir>/batch-<run>-<time>-<n>.jsonl``,
written under a temporary name and renamed, so a reader never sees half a batch):
a header line ``{"run_id": ..., "database": ...}`` then one line per item, tagged
with its type. ``Decimal`` and ``datetime`` values keep their exact type
(``{"$decimal": "6.80"}``, ``{"$datetime": "..."}``), so a replayed batch writes
the same rows. ``database`` is the target URL without its password: a batch is
replayed into the database it was meant for only.

:func:`replay` (``scrapy replay_spool``, and the storage pipeline at spider open)
writes spooled batches through the same repository path — idempotently: upserts,
history only on change — oldest first, deleting each file once committed. Replay
never fails on data: a record the database refuses becomes a dead letter and the
rest of its batch lands. A file that cannot be read, or a database that is away,
leaves the file for the next replay; the others go on.

Lines are ASCII JSON: any text survives the round trip, lone UTF-16 surrogates
and NUL bytes included (as ``\\ud800`` escapes), as do ``NaN`` and infinities.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from harvester import items
from harvester.storage import repository

if TYPE_CHECKING:
    from sqlalchemy import URL, Engine

logger = logging.getLogger(__name__)
_sequence = count()
_TYPES = {
    cls.__name__: cls
    for cls in (items.Product, items.RelatedEdge, items.DeadLetter, items.UnitDone)
}


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


def database_key(url: str | URL) -> str:
    """The URL a spool file names as its target: no password."""
    return make_url(url).render_as_string(hide_password=True)


def write(
    directory: Path, batch: repository.Batch, run_id: int | None, database: str | URL | None = None
) -> Path:
    """Spool *batch* for the database at *database* (a URL); return the file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"batch-{run_id}-{time.time_ns()}-{next(_sequence)}.jsonl"
    partial = path.with_name(f".{path.name}.partial")
    header = {"run_id": run_id, "database": database_key(database) if database else None}
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(header) + "\n")
        for item in (*batch.products, *batch.edges, *batch.dead_letters, *batch.units):
            entry = {"type": type(item).__name__, "item": _encode(asdict(item))}
            # ASCII: a lone surrogate (a truncated emoji) is escaped, not an encoding error
            handle.write(json.dumps(entry) + "\n")
    partial.replace(path)
    return path


def _header(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return dict(json.loads(handle.readline()))


def read(path: Path) -> tuple[repository.Batch, int | None]:
    batch = repository.Batch()
    lists = {
        "Product": batch.products,
        "RelatedEdge": batch.edges,
        "DeadLetter": batch.dead_letters,
        "UnitDone": batch.units,
    }
    with path.open(encoding="utf-8") as handle:
        run_id = json.loads(handle.readline())["run_id"]
        for line in handle:
            entry = json.loads(line)
            lists[entry["type"]].append(_item(entry["type"], _decode(entry["item"])))
    return batch, run_id


def pending(directory: Path, database: str | URL | None = None) -> list[Path]:
    """Spooled batches, oldest first; only those for *database* (a URL) if given."""
    if not directory.is_dir():
        return []
    paths = sorted(directory.glob("batch-*.jsonl"), key=lambda p: p.stat().st_mtime_ns)
    if database is None:
        return paths
    key = database_key(database)
    return [p for p in paths if _header(p).get("database") in (None, key)]


@dataclass
class Replayed:
    """What :func:`replay` did: files and items written, files left because they failed."""

    files: int = 0
    items: int = 0
    #: Records the database refused, stored as dead letters instead.
    refused: int = 0
    failed: list[Path] = field(default_factory=list)


def replay(engine: Engine, directory: Path, database: str | URL | None = None) -> Replayed:
    """Write the batches spooled in *directory* (for *database*, if given) to *engine*."""
    done = Replayed()
    for path in pending(directory, database):
        try:
            batch, run_id = read(path)
            refused = repository.write_isolating(engine, batch, run_id)
        except FileNotFoundError:
            continue  # replayed meanwhile by another process
        except Exception:
            logger.exception("Could not replay %s; it stays for the next replay", path)
            done.failed.append(path)
            continue
        path.unlink(missing_ok=True)
        done.files += 1
        done.items += len(batch)
        done.refused += refused
        logger.info("Replayed %s (%d items)", path.name, len(batch))
    return done
