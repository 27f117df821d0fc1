"""Relative paths of the configuration resolve against the project folder (that of
``scrapy.cfg``), wherever a command starts: the database, the spool, the dead-letter file,
and the demo's database."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

from scrapy.utils.test import get_crawler

from harvester import demo
from harvester.extensions.dead_letters import DeadLetters
from harvester.pipelines.storage import writer_options
from harvester.storage.db import make_engine
from harvester.storage.migrate import upgrade
from tests.unit.crawler_stub import PROJECT


def test_relative_paths_resolve_against_the_project_from_a_subfolder(tmp_path, monkeypatch):
    (tmp_path / "scrapy.cfg").write_text("[settings]\ndefault = harvester.settings\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    monkeypatch.delenv("HARVESTER_DATABASE_URL", raising=False)
    crawler = get_crawler(settings_dict={**PROJECT, "HARVESTER_STORAGE_ENABLED": False})
    assert DeadLetters(crawler).path == tmp_path / "data" / "dead_letters.jsonl"
    options = writer_options(crawler.settings)
    assert options.spool_dir == tmp_path / "data" / "spool"
    assert options.url == f"sqlite:///{tmp_path}/data/harvester.sqlite"
    absolute = tmp_path / "elsewhere" / "letters.jsonl"
    crawler = get_crawler(settings_dict={**PROJECT, "HARVESTER_DEAD_LETTERS_FILE": str(absolute)})
    assert DeadLetters(crawler).path == absolute


def test_the_demo_resolves_its_database_once_against_the_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the project
    monkeypatch.setenv("HARVESTER_DATABASE_URL", "sqlite:///data/demo.sqlite")
    root = demo.project_root()
    assert root == demo.CHECKOUT and (root / "scrapy.cfg").is_file()
    assert demo.database_url({}, root) == f"sqlite:///{root}/data/demo.sqlite"


def test_the_demo_summary_reads_the_crawls_database_from_any_folder(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/db/harvester.sqlite"
    (tmp_path / "db").mkdir()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    out = io.StringIO()
    with redirect_stdout(out):
        demo.summarize(url)
    assert f"data landed in {tmp_path}/db/harvester.sqlite" in out.getvalue()
    counts = {w[0]: w[1] for w in map(str.split, out.getvalue().splitlines()) if w[-1:] == ["rows"]}
    assert counts["products"] == counts["crawl_runs"] == "0"
