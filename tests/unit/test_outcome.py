"""The outcome policy (harvester/outcome.py): finish reason and stats → status, exit code."""

from __future__ import annotations

import pytest

from harvester.outcome import classify, process_exit_code

OK = {"item_scraped_count": 25}


@pytest.mark.parametrize(
    ("reason", "stats", "status", "code", "says"),
    [
        ("finished", OK, "complete", 0, "complete: 25 items"),
        ("finished", {}, "complete", 0, "complete: 0 items"),  # an empty store is complete
        ("shutdown", OK, "interrupted", 4, "run the same command again"),
        ("pandapon_auth", OK, "failed", 1, "pandapon: the API refused the credentials"),
        ("aliyun_clock", OK, "failed", 1, "fix the local clock"),
        ("vvtool_quota", OK, "failed", 1, "quota"),
        ("finished", {**OK, "spider_exceptions/KeyError": 2}, "failed", 1, "2 unhandled"),
        ("finished", {**OK, "harvester/monitors/failed": 1}, "failed", 1, "1 monitor(s)"),
        ("finished", {"harvester/dead_letter/pandapon/response": 3}, "failed", 1, "nothing"),
        (
            "finished",
            {**OK, "harvester/dead_letter/pandapon/request": 3},
            "incomplete",
            3,
            "3 call",
        ),
        ("finished", {**OK, "harvester/dead_letter/aliyun/record": 2}, "incomplete", 3, "2 record"),
        ("finished", {**OK, "harvester/dead_letter/aliyun/missing": 2}, "complete", 0, "25 items"),
        ("finished", {**OK, "harvester/store/truncated": 1}, "incomplete", 3, "truncated"),
        ("finished", {**OK, "harvester/storage/spooled": 9}, "incomplete", 3, "replay_spool"),
        ("finished", {**OK, "harvester/vvtool/max_calls_reached": True}, "incomplete", 3, "cap"),
        ("closespider_timeout", OK, "incomplete", 3, "closed early (closespider_timeout)"),
    ],
)
def test_classify(reason, stats, status, code, says):
    outcome = classify(reason, stats)
    assert (outcome.status, outcome.exit_code) == (status, code)
    assert says in outcome.reason


def test_nothing_reachable_names_the_url_and_the_setting():
    outcome = classify("finished", {}, ("http://127.0.0.1:9", "PANDAPON_BASE_URL"))
    assert (outcome.status, outcome.exit_code) == ("failed", 1)
    assert "nothing reachable at http://127.0.0.1:9" in outcome.reason
    assert "PANDAPON_BASE_URL" in outcome.reason and "python -m harvester.sandbox" in outcome.reason


def test_a_signal_outranks_everything_else():
    # Ctrl-C during a walk that already lost pages: resumable, not "incomplete"
    outcome = classify("shutdown", {"harvester/dead_letter/pandapon/response": 3})
    assert outcome.status == "interrupted"


def test_the_process_exits_with_the_runs_code():
    """``scrapy crawl`` and ``harvester.testing.crawl`` share this rule."""
    incomplete = {"status": "incomplete", "exit_code": 3, "reason": "..."}
    assert process_exit_code(incomplete, started=True, outcome_enabled=True) == 3
    assert process_exit_code(incomplete, started=False, outcome_enabled=True) == 1
    assert process_exit_code({}, started=True, outcome_enabled=True) == 4  # never closed
    assert process_exit_code({}, started=True, outcome_enabled=False) == 0
