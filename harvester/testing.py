"""Helpers to run the sandbox and crawls from tests, benchmarks and the demo."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harvester.sandbox import providers

if TYPE_CHECKING:
    from collections.abc import Iterator


@dataclass
class Sandbox:
    """A running sandbox subprocess."""

    base_url: str
    process: subprocess.Popen[str]

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
            return json.load(response)

    def post(self, path: str, payload: Any) -> Any:
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def stores(self) -> list[dict[str, Any]]:
        return self.get("/_sandbox/stores")["stores"]

    def store(self, total_records: int) -> str:
        """``sellerOpenId`` of the first store with exactly *total_records* offers."""
        for store in self.stores():
            if store["totalRecords"] == total_records:
                return store["sellerOpenId"]
        raise LookupError(f"no sandbox store has {total_records} offers")

    def fault(self, api: str, fault: str, count: int = 1, **params: Any) -> None:
        self.post("/_sandbox/faults", {"api": api, "fault": fault, "count": count, **params})

    def random_faults(
        self, api: str, rate: float, mix: list[dict[str, Any]], seed: int | None = 1
    ) -> None:
        """Make a share *rate* of *api*'s calls fail, each in a way drawn from *mix*."""
        self.post("/_sandbox/faults", {"api": api, "rate": rate, "mix": mix, "seed": seed})

    def client_environment(self) -> dict[str, str]:
        """Environment variables pointing every spider at this sandbox."""
        return providers.client_environment(self.base_url)


def free_port() -> int:
    """A TCP port free on the loopback interface now (for servers that need one up front)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Terminate *process*, killing it if it has not exited within *timeout* seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def run_sandbox(*args: str, env: dict[str, str] | None = None) -> Iterator[Sandbox]:
    """Start ``python -m harvester.sandbox --port 0 *args``; stop it on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "harvester.sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"sandbox did not start (exit code {process.wait()})")
        yield Sandbox(json.loads(line)["sandbox"], process)
    finally:
        stop_process(process)
        if process.stdout is not None:
            process.stdout.close()


def crawl_command(
    head: list[str], args: dict[str, Any] | None, settings: dict[str, Any] | None
) -> list[str]:
    """*head* (``python -m scrapy crawl SPIDER``, say) then ``-a k=v`` per spider argument
    and ``-s K=V`` per setting, dicts and lists as JSON (as ``getdict``/``getlist`` read)."""
    command = list(head)
    for key, value in (args or {}).items():
        command += ["-a", f"{key}={value}"]
    for key, value in (settings or {}).items():
        text = json.dumps(value) if isinstance(value, (dict, list)) else value
        command += ["-s", f"{key}={text}"]
    return command


@dataclass
class CrawlResult:
    returncode: int
    stats: dict[str, Any]
    log: str


def crawl(
    spider: str,
    *,
    args: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> CrawlResult:
    """Run one spider with ``CrawlerProcess`` in a fresh interpreter (a reactor can
    start only once per process) and return its exit code, final stats and log.

    The exit code is the one ``scrapy crawl`` would give: the run's outcome
    (:mod:`harvester.outcome`: 0 complete, 1 failed, 3 incomplete, 4 interrupted), or 2
    when the crawl could not start (bad arguments or credentials)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        stats_path = os.path.join(tmp, "stats.json")
        command = crawl_command(
            [sys.executable, "-m", "harvester.testing", spider, stats_path], args, settings
        )
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
        stats = json.loads(Path(stats_path).read_text()) if os.path.exists(stats_path) else {}
    return CrawlResult(completed.returncode, stats, completed.stderr)


def _main(argv: list[str]) -> int:
    """``python -m harvester.testing SPIDER STATS_JSON [-a k=v]... [-s K=V]...``"""
    import argparse

    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from harvester import outcome
    from harvester.commands.crawl import watch_outcome

    parser = argparse.ArgumentParser()
    parser.add_argument("spider")
    parser.add_argument("stats_path")
    parser.add_argument("-a", action="append", default=[])
    parser.add_argument("-s", action="append", default=[])
    options = parser.parse_args(argv)
    settings = get_project_settings()
    for pair in options.s:
        key, _, value = pair.partition("=")
        settings.set(key, value, priority="cmdline")
    spider_args = dict(pair.partition("=")[::2] for pair in options.a)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(options.spider)
    finished = watch_outcome(crawler)
    failed: list[BaseException] = []
    deferred = process.crawl(crawler, **spider_args)
    deferred.addErrback(lambda failure: failed.append(failure.value))
    process.start()
    try:
        stats = crawler.stats.get_stats()
    except RuntimeError:  # the crawl never started (bad arguments or credentials)
        stats = {}
    with open(options.stats_path, "w") as handle:
        json.dump(stats, handle, default=str)
    if failed:
        print(f"crawl failed: {failed[0]}", file=sys.stderr)
        return outcome.USAGE_EXIT_CODE
    return outcome.process_exit_code(
        finished,
        started=not process.bootstrap_failed,
        outcome_enabled=crawler.settings.getbool("HARVESTER_OUTCOME_ENABLED"),
    )


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
