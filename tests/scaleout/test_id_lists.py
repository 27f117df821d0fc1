"""Two workers share one big id list: each batch is fetched once, the rows are one run's."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.scaleout.workers import workers


def test_two_workers_share_the_batches_of_one_id_list(sandbox, redis_url, pg_url):
    ids = sandbox.get("/_sandbox/taobao_items")["itemIds"][:48]
    calls = int(sandbox.get("/_sandbox/stats")["stats"].get("aliyun/calls", 0))
    args = {"item_ids": ",".join(ids)}
    settings = {"aliyun": 400}
    results = workers(
        2, "taobao_items", args, sandbox, redis_url, pg_url, settings, HARVESTER_ALIYUN_BATCH_SIZE=8
    )
    for result in results:
        assert result.returncode == 0, result.log[-3000:]
    # batches of 8: 6 calls in all, whether a worker starts late or not (it then joins the
    # crawl, or finds it ended within HARVESTER_FRONTIER_GRACE)
    claimed = [r.stats.get("harvester/frontier/claimed", 0) for r in results]
    served = int(sandbox.get("/_sandbox/stats")["stats"].get("aliyun/calls", 0)) - calls
    assert served == sum(claimed) == 6, claimed
    engine = create_engine(pg_url)
    with engine.connect() as connection:
        stored = {p for (p,) in connection.execute(text("select product_id from products"))}
    engine.dispose()
    assert stored == set(ids) - {i for i in ids if not i.isdigit()}
