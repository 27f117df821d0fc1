"""``make demo``: start the sandbox, crawl it into the default database, print a summary.

Runs the spiders exactly as a user would (``scrapy crawl ...``), pointed at a
sandbox on a free local port through the documented environment variables. Works from
any folder: the crawls run in the project folder (this checkout, else the current
folder), and ``HARVESTER_DATABASE_URL`` (default ``sqlite:///data/harvester.sqlite``) is
resolved once, against that folder, for the crawls and the summary alike.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import deque
from pathlib import Path

from sqlalchemy.engine import make_url

from harvester.config import database_url
from harvester.testing import run_sandbox

#: The checkout this module lives in (``pip install -e .``).
CHECKOUT = Path(__file__).resolve().parent.parent


def project_root() -> Path:
    """The folder the demo works in: the checkout (it has the project's ``scrapy.cfg``),
    else the current folder (an installed package)."""
    return CHECKOUT if (CHECKOUT / "scrapy.cfg").is_file() else Path.cwd()


#: Log lines the demo shows: progress, the end-of-run summary and outcome, problems.
SHOWN = (
    "] INFO: Progress:",
    "] INFO: Run summary:",
    "[harvester.extensions.outcome]",
    "] WARNING:",
    "] ERROR:",
)


def scrapy(root: Path, env: dict[str, str], *args: str) -> None:
    """Run ``scrapy ARGS``, showing its progress lines, summary block and problems."""
    command = [sys.executable, "-m", "scrapy", *args]
    command += ["-s", "LOG_LEVEL=INFO", "-s", "HARVESTER_PROGRESS_INTERVAL=3"]
    print("$ scrapy " + " ".join(args), flush=True)
    with subprocess.Popen(
        command, cwd=root, env=env, stderr=subprocess.PIPE, text=True, errors="replace"
    ) as process:
        assert process.stderr is not None
        in_block = False
        last: deque[str] = deque(maxlen=15)  # shown if the command fails
        for line in process.stderr:
            last.append(line.rstrip())
            # the summary block's lines are indented under its first line
            in_block = in_block and line.startswith("  ")
            if in_block or any(marker in line for marker in SHOWN):
                print("    " + line.rstrip().split("] ", 1)[-1].removeprefix("INFO: "), flush=True)
                in_block = in_block or "Run summary:" in line
    if process.returncode:
        print("\n".join(f"    | {line}" for line in last), file=sys.stderr)
        raise SystemExit(f"demo: `scrapy {args[0]}` exited with code {process.returncode}")


def id_file(root: Path, name: str, ids: list[object]) -> str:
    """Write *ids* one per line under data/ (the spiders' ``@file`` form); return its path."""
    path = root / "data" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    return str(path)


def main() -> None:
    root = project_root()
    url = database_url({}, root)  # the environment's, else the default; absolute
    with run_sandbox() as sandbox:
        env = {
            **os.environ,
            **sandbox.client_environment(),
            "HARVESTER_DATABASE_URL": url,
            # the project's settings even where no scrapy.cfg is (an installed package)
            "SCRAPY_SETTINGS_MODULE": os.environ.get(
                "SCRAPY_SETTINGS_MODULE", "harvester.settings"
            ),
        }
        stores = sandbox.stores()
        print(f"sandbox at {sandbox.base_url} serving {len(stores)} 1688 stores", flush=True)
        big = max(stores, key=lambda s: s["totalRecords"] if s["totalRecords"] <= 3000 else -1)
        small = [s for s in stores if 0 < s["totalRecords"] < 300]
        scrapy(root, env, "crawl", "store", "-a", f"seller_open_id={big['sellerOpenId']}")
        scrapy(
            root,
            env,
            "crawl",
            "store",
            "-a",
            "seller_open_ids=" + ",".join(s["sellerOpenId"] for s in small),
        )
        enriched = small[-1]
        scrapy(
            root,
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
            root,
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
            root, "demo-taobao-ids.txt", sandbox.get("/_sandbox/taobao_items")["itemIds"][:100]
        )
        scrapy(root, env, "crawl", "taobao_items", "-a", f"item_ids=@{taobao}")
        aliexpress = id_file(
            root,
            "demo-aliexpress-ids.txt",
            sandbox.get("/_sandbox/aliexpress_products")["productIds"][:60],
        )
        scrapy(
            root,
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
        report = root / "data" / "report.html"
        scrapy(root, env, "report", "--last", "6", "-o", str(report))
    summarize(url)


def summarize(url: str) -> None:
    """Rows per table of the SQLite database at *url* (an absolute URL: the crawls' own)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        print(f"data landed in {parsed.render_as_string(hide_password=True)}")
        return
    path = Path(parsed.database)
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
