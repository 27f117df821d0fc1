"""The dead-letter component: counted, secrets stripped, kept with or without storage."""

from __future__ import annotations

import json

import pytest
from scrapy import signals as scrapy_signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from harvester import dead_letters, signals
from harvester.extensions.dead_letters import DeadLetters
from harvester.items import DeadLetter

SECRET = "s3cr3t-value"
URL = "https://imagesearch.example/?Action=GetProductInfoByIds&Signature=abc%3D&AccessKeyId=ak"


def make(tmp_path, **settings):
    crawler = get_crawler(
        settings_dict={
            "HARVESTER_DEAD_LETTERS_ENABLED": True,
            "HARVESTER_DEAD_LETTERS_FILE": str(tmp_path / "dead.jsonl"),
            "ALIYUN_ACCESS_KEY_SECRET": SECRET,
            **settings,
        }
    )
    return crawler, DeadLetters.from_crawler(crawler)


def letter() -> DeadLetter:
    return DeadLetter(
        api="aliyun",
        reason=f"rejected with key {SECRET}",
        kind="record",
        url=URL,
        request_body=f"ItemIds=1&Signature=xyz&Secret={SECRET}",
        body=dead_letters.payload_text({"title": "裙子\ud83d", "echo": SECRET}),
    )


def test_without_storage_dead_letters_go_to_a_json_lines_file_losslessly(tmp_path):
    crawler, _ = make(tmp_path, HARVESTER_STORAGE_ENABLED=False)
    dead_letters.send(crawler, letter())
    crawler.signals.send_catch_log(signal=scrapy_signals.spider_closed, spider=None)
    (line,) = (tmp_path / "dead.jsonl").read_text(encoding="utf-8").splitlines()
    kept = json.loads(line)
    assert SECRET not in line and "abc" not in kept["url"] and "xyz" not in kept["request_body"]
    assert "Signature=%2A%2A%2A" in kept["url"] and "ItemIds=1" in kept["request_body"]
    assert json.loads(kept["body"])["title"] == "裙子\ud83d"  # the lone surrogate, kept
    assert crawler.stats.get_value("harvester/dead_letter/aliyun/record") == 1


def test_with_storage_the_pipeline_gets_them_redacted(tmp_path):
    crawler, _ = make(tmp_path, HARVESTER_STORAGE_ENABLED=True)
    kept = []
    crawler.signals.connect(
        lambda dead_letter: kept.append(dead_letter), signal=signals.dead_letter_kept, weak=False
    )
    dead_letters.send(crawler, letter())
    (stored,) = kept
    assert SECRET not in stored.reason and SECRET not in stored.body
    assert not (tmp_path / "dead.jsonl").exists()


def test_switched_off(tmp_path):
    with pytest.raises(NotConfigured):
        make(tmp_path, HARVESTER_DEAD_LETTERS_ENABLED=False)


def test_bodies_keep_any_text():
    assert json.loads(dead_letters.payload_text({"t": "\ud800x"})) == {"t": "\ud800x"}
    assert dead_letters.payload_text({"t": "é"}) == '{"t": "é"}'
    assert dead_letters.body_text(b"ok \xff") == "ok \\xff"
