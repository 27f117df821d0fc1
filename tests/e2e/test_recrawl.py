"""Recrawl policy for billed vv-tool details: a detail fetched less than
HARVESTER_VVTOOL_DETAIL_MAX_AGE hours ago, whose listing did not change, is not asked again."""

from __future__ import annotations

import pytest

from harvester.testing_resume import query, run_crawl

pytestmark = pytest.mark.e2e


def test_fresh_details_are_not_billed_again(sandbox, tmp_path):
    shop = next(s for s in sandbox.stores() if s["totalRecords"] == 7)
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    env = {**sandbox.client_environment(), "HARVESTER_DATABASE_URL": url}
    args = {"seller_open_id": shop["sellerOpenId"], "details": "vvtool", "shop_id": shop["loginId"]}
    log = tmp_path / "log"

    def vvtool_calls() -> int:
        return sandbox.get("/_sandbox/stats")["stats"].get("vvtool/calls", 0)

    before = vvtool_calls()
    assert run_crawl("store", args, env, log) == 0
    assert vvtool_calls() - before == 7
    before = vvtool_calls()
    assert run_crawl("store", args, env, log) == 0  # listing unchanged, details 0 h old
    assert vvtool_calls() - before == 0
    assert "vv-tool: 7 detail calls saved" in log.read_text()
    before = vvtool_calls()
    assert run_crawl("store", args, env, log, {"HARVESTER_VVTOOL_DETAIL_MAX_AGE": 0}) == 0
    assert vvtool_calls() - before == 7
    stats = query(url, "select stats from crawl_runs order by id")
    assert [s for (s,) in stats if "recrawl_skipped" in str(s)] != []
