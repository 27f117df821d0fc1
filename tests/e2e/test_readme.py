"""Every shell command of README.md, run as written against a sandbox.

The commands are the lines of the README's ```` ```sh ```` and ```` ```bash ````
blocks (a trailing ``\\`` continues a line; ``#`` lines are comments). Other blocks
(``cron``, ``sql``, ``console`` transcripts, ``text``) are not run. Each command runs
with ``bash`` in a temporary project folder holding a copy of ``scrapy.cfg`` and
``data/`` and a ``.venv`` link to the interpreter running the tests, so
``.venv/bin/scrapy`` and bare ``scrapy`` work unchanged and files the commands write
(the default SQLite database ``data/harvester.sqlite``, exports) stay there. The
environment is what ``python -m harvester.sandbox --print-env`` prints for the test's
sandbox, whose port replaces the README's ``8960``; the ``export`` and ``eval`` lines
met earlier in the same block run before each command. Commands run in README order
against one sandbox and one database (a re-crawl after a price change sees it).

Every command must exit 0 and print no traceback; a ``scrapy crawl`` must also scrape
at least one item (the run summary's ``items N scraped``, or ``item_scraped_count`` in
its stats, in its output or in the file it appends its log to). Commands in ``SKIP`` are
not run, each for the reason given; ``test_skip_list_is_current`` fails when an entry
matches nothing.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harvester.testing import run_sandbox

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RUN_LANGUAGES = {"sh", "bash"}
README_PORT = "8960"

#: (pattern searched in a command, why it is not run here)
SKIP: list[tuple[str, str]] = [
    (r"^make test\b", "the test suite itself"),
    (r"^make demo\b", "long; the demo crawls every spider (run by hand from a fresh clone)"),
    (r"-m harvester\.sandbox --port", "starts a server; the test runs its own sandbox"),
    (r"postgresql\+psycopg://", "needs a PostgreSQL server (tests/storage covers PostgreSQL)"),
    (r"scrapyd|schedule\.json|/srv/", "Scrapyd recipe: tests/e2e/test_scrapyd.py runs it"),
    (
        r"redis-server|HARVESTER_REDIS_URL=|for worker in",
        "a Redis server and workers at once: tests/scaleout runs them (real Redis, PostgreSQL)",
    ),
    (r"@data/sandbox-stores\.txt", "long: all 8 883 sandbox offers, ~30 s"),
    (r"=\.\.\.|<[A-Za-z][^>]*>", "a placeholder for real credentials or ids"),
]


@dataclass(frozen=True)
class Command:
    line: int
    text: str
    #: ``export`` / ``eval`` lines met before it in its block.
    prelude: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"L{self.line}:{self.text[:60]}"


def readme_blocks(text: str) -> Iterator[tuple[int, str, list[str]]]:
    """(line of the fence, language, lines) of every fenced block."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = re.match(r"^```(\w*)\s*$", lines[index])
        if not match:
            index += 1
            continue
        start, body = index, []
        index += 1
        while index < len(lines) and not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        yield start + 1, match.group(1), body
        index += 1


def readme_commands(text: str) -> list[Command]:
    """Every command of the runnable blocks, continuation lines joined."""
    commands: list[Command] = []
    for fence, language, body in readme_blocks(text):
        if language not in RUN_LANGUAGES:
            continue
        prelude: list[str] = []
        pending, first = "", 0
        for offset, raw in enumerate(body, start=fence + 1):
            if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
                continue
            first = first or offset
            if raw.rstrip().endswith("\\"):
                pending += raw.rstrip()[:-1] + " "
                continue
            command = " ".join((pending + raw).split())
            commands.append(Command(first, command, tuple(prelude)))
            if command.startswith(("export ", "eval ")) and skip_reason(command) is None:
                prelude.append(command)
            pending, first = "", 0
    return commands


def skip_reason(command: str) -> str | None:
    for pattern, reason in SKIP:
        if re.search(pattern, command):
            return reason
    return None


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))
RUN = [command for command in COMMANDS if skip_reason(command.text) is None]


def test_readme_has_commands_to_run() -> None:
    assert len(RUN) >= 10, [c.text for c in RUN]


def test_skip_list_is_current() -> None:
    for pattern, reason in SKIP:
        assert any(re.search(pattern, c.text) for c in COMMANDS), f"{pattern!r} ({reason})"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A project folder and the environment the README's reader would have."""
    folder = tmp_path_factory.mktemp("readme")
    shutil.copy(ROOT / "scrapy.cfg", folder / "scrapy.cfg")
    shutil.copytree(ROOT / "data", folder / "data")
    (folder / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    with run_sandbox() as sandbox:
        port = sandbox.base_url.rsplit(":", 1)[1]
        printed = subprocess.run(
            [sys.executable, "-m", "harvester.sandbox", "--print-env", "--port", port],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("HARVESTER_", "PANDAPON_", "ALIYUN_", "VVTOOL_", "ALIEXPRESS_"))
        }
        for line in printed.splitlines():
            name, _, value = shlex.split(line)[1].partition("=")
            env[name] = value
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["README_PORT"] = port
        yield folder, env


@pytest.mark.parametrize("command", RUN, ids=[c.id for c in RUN])
def test_readme_command(command: Command, project: tuple[Path, dict[str, str]]) -> None:
    folder, env = project
    port = env["README_PORT"]
    script = "\n".join(["set -e", *command.prelude, command.text]).replace(README_PORT, port)
    completed = subprocess.run(
        ["bash", "-c", script],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"exit {completed.returncode}:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    if re.search(r"\bscrapy crawl\b", command.text):
        for log in re.findall(r">>? *([\w./-]+)", command.text):  # a crawl logging to a file
            if (folder / log).is_file():
                output += (folder / log).read_text(encoding="utf-8", errors="replace")
        # the run summary's "items  N scraped" line (the raw stats dict is at DEBUG)
        scraped = re.findall(r"'item_scraped_count': (\d+)|^ +items +(\d+) scraped", output, re.M)
        scraped = ["".join(pair) for pair in scraped]
        assert scraped and int(scraped[-1]) > 0, f"no items scraped:\n{output[-3000:]}"
