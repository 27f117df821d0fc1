"""The work ledger as a spider sees it (:mod:`harvester.ledger`)."""

from __future__ import annotations

from scrapy.utils.test import get_crawler

from harvester import signals
from harvester.ledger import Ledger


def test_a_taken_outcome_is_forgotten_and_its_unit_stays_done():
    ledger = Ledger()
    crawler = get_crawler()
    ledger.connect(crawler)
    done = {"page:s||:1": {"pages": 3, "offers": ["1", "2"]}, "page:s||:2": None}
    crawler.signals.send_catch_log(signals.run_started, run_id=2, resumes=1, done=done)
    assert ledger.take("page:s||:1") == {"pages": 3, "offers": ["1", "2"]}
    assert ledger.take("page:s||:1") is None
    assert ledger.outcome("page:s||:1") is None
    assert ledger.is_done("page:s||:1") and ledger.is_done("page:s||:2")
    assert not ledger.is_done("page:s||:3")
    assert ledger.take("page:s||:3") is None
    assert done["page:s||:1"] == {"pages": 3, "offers": ["1", "2"]}  # the caller's copy
