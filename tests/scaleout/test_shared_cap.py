"""vv-tool's call cap is the shared crawl's: N workers together make at most max_calls."""

from __future__ import annotations

from tests.scaleout.workers import workers


def vvtool_calls(sandbox) -> int:
    return int(sandbox.get("/_sandbox/stats")["stats"].get("vvtool/calls", 0))


def test_two_workers_share_one_call_cap(sandbox, redis_url, pg_url):
    store = next(s for s in sandbox.stores() if s["totalRecords"] == 275)
    ids = sandbox.get(f"/_sandbox/offers?sellerOpenId={store['sellerOpenId']}")["offerIds"][:30]
    args = {"shop_id": store["loginId"], "product_ids": ",".join(map(str, ids))}
    before = vvtool_calls(sandbox)
    results = workers(
        2,
        "vvtool_detail",
        args,
        sandbox,
        redis_url,
        pg_url,
        {"vvtool": 400},
        HARVESTER_VVTOOL_MAX_CALLS=10,
    )
    # at most 10 calls in all (each worker alone would have made 10)
    assert vvtool_calls(sandbox) - before == 10
    assert sum(r.stats.get("harvester/vvtool/requested", 0) for r in results) == 10
    for result in results:  # the cap left products out: incomplete, and each one says why
        assert result.returncode == 3, result.log[-3000:]
        assert "call cap of 10 reached" in result.log
