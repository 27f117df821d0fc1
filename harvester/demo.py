"""``make demo``: start the sandbox, crawl it into the default database, print a summary.

Runs the spiders exactly as a user would (``scrapy crawl ...``), pointed at a
sandbox on a free local port through the documented environment variables.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from harvester.config import DEFAULT_DATABASE_URL
from harvester.testing import run_sandbox

ROOT = Path(__file__).resolve().parent.parent


#: Log lines the demo shows: progress, the end-of-run summary and outcome, problems.
SHOWN = (
    "] INFO: Progress:",
    "] INFO: Run summary:",
    "[harvester.extensions.outcome]",
    "] WARNING:",
    "] ERROR:",
)


def scrapy(env: dict[str, str], *args: str) -> None:
    """Run ``scrapy ARGS``, showing its progress lines, summary block and problems."""
    command = [sys.executable, "-m", "scrapy", *args]
    command += ["-s", "LOG_LEVEL=INFO", "-s", "HARVESTER_PROGRESS_INTERVAL=3"]
    print("$ scrapy " + " ".join(args), flush=True)
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True, errors="replace"
    ) as process:
        assert process.stderr is not None
        in_block = False
        for line in process.stderr:
            # the summary block's lines are indented under its first line
            in_block = in_block and line.startswith("  ")
            if in_block or any(marker in line for marker in SHOWN):
                print("    " + line.rstrip().split("] ", 1)[-1].removeprefix("INFO: "), flush=True)
                in_block = in_block or "Run summary:" in line
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)


def id_file(name: str, ids: list[object]) -> str:
    """Write *ids* one per line under data/ (the spiders' ``@file`` form); return its path."""
    path = ROOT / "data" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    return str(path)


def main() -> None:
    database_url = os.environ.get("HARVESTER_DATABASE_URL", DEFAULT_DATABASE_URL)
    with run_sandbox() as sandbox:
        env = {**os.environ, **sandbox.client_environment(), "HARVESTER_DATABASE_URL": database_url}
        stores = sandbox.stores()
        print(f"sandbox at {sandbox.base_url} serving {len(stores)} 1688 stores", flush=True)
        big = max(stores, key=lambda s: s["totalRecords"] if s["totalRecords"] <= 3000 else -1)
        small = [s for s in stores if 0 < s["totalRecords"] < 300]
        scrapy(env, "crawl", "store", "-a", f"seller_open_id={big['sellerOpenId']}")
        scrapy(
            env,
            "crawl",
            "store",
            "-a",
            "seller_open_ids=" + ",".join(s["sellerOpenId"] for s in small),
        )
        enriched = small[-1]
        scrapy(
            env,
            "crawl",
            "store",
            "-a",
            f"seller_open_id={enriched['sellerOpenId']}",
            "-a",
            "details=vvtool",
            "-a",
            f"shop_id={enriched['loginId']}",
        )
        seed = sandbox.get(f"/_sandbox/offers?sellerOpenId={enriched['sellerOpenId']}")["offerIds"][
            0
        ]
        scrapy(
            env,
            "crawl",
            "related",
            "-a",
            f"offer_ids={seed}",
            "-a",
            "max_depth=2",
            "-a",
            "max_items=500",
        )
        taobao = id_file(
            "demo-taobao-ids.txt", sandbox.get("/_sandbox/taobao_items")["itemIds"][:100]
        )
        scrapy(env, "crawl", "taobao_items", "-a", f"item_ids=@{taobao}")
        aliexpress = id_file(
            "demo-aliexpress-ids.txt",
            sandbox.get("/_sandbox/aliexpress_products")["productIds"][:60],
        )
        scrapy(
            env,
            "crawl",
            "aliexpress_items",
            "-a",
            f"product_ids=@{aliexpress}",
            "-a",
            "target_currency=EUR",
            "-a",
            "target_language=EN",
            "-a",
            "country=DE",
        )
        report = ROOT / "data" / "report.html"
        scrapy(env, "report", "--last", "6", "-o", str(report))
    summarize(database_url)


def summarize(database_url: str) -> None:
    if not database_url.startswith("sqlite:///"):
        print(f"data landed in {database_url}")
        return
    path = ROOT / database_url.removeprefix("sqlite:///")  # relative: to the project
    with sqlite3.connect(path) as db:
        print(f"\ndata landed in {path.resolve()}")
        for table in (
            "products",
            "skus",
            "price_tiers",
            "related_edges",
            "product_history",
            "crawl_runs",
            "dead_letters",
        ):
            (count,) = db.execute(f"select count(*) from {table}").fetchone()  # noqa: S608
            print(f"  {table:<16} {count:>7} rows")
        for source, count in db.execute("select source, count(*) from products group by source"):
            print(f"  products from {source}: {count}")
        print(
            "\ntry: .venv/bin/scrapy export --query "
            + '"select product_id, title_en, price, currency from products limit 5" -o -'
            + "\nnext: README.md, 'Running against the sandbox' (ids that exist, price changes,"
            + " faults)"
        )


if __name__ == "__main__":
    main()
