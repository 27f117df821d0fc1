"""``scrapy replay_spool``: write the batches spooled while the database was down."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand

from harvester.config import database_url
from harvester.storage import spool
from harvester.storage.db import ensure_schema, make_engine

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": True}

    def short_desc(self) -> str:
        return "Write spooled batches (HARVESTER_STORAGE_SPOOL_DIR) to the database"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        directory = Path(self.settings.get("HARVESTER_STORAGE_SPOOL_DIR"))
        engine = make_engine(database_url(self.settings))
        ensure_schema(engine)
        files, items = spool.replay(engine, directory) if directory.exists() else (0, 0)
        print(f"replayed {files} spooled batches ({items} items) from {directory}")
