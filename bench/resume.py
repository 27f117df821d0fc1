"""Crash-safe resume: ``kill -9`` at random moments, then the same command.

    python -m bench resume [--trials 10] [--store 2600] [--details] [--seed N]

A sandbox is started; one clean ``scrapy crawl store`` (with ``--details``: ``-a
details=vvtool``, on the 275-offer store) gives the reference: its calls and its
products. Then, for each trial, the same command runs into a fresh SQLite database, its
process group gets ``SIGKILL`` after a random delay (uniform over the clean run's
duration), and the same command runs again to its end (harness:
:mod:`harvester.testing_resume`). Per trial the benchmark prints:

- ``killed``: calls the killed run made; ``done``: units it had committed;
- ``in flight``: calls it made whose items were not committed (killed - done); goal ≤
  the concurrency (16);
- ``left``: units it had not started (clean - killed);
- ``resumed``: calls of the resumed run; bound = left + in flight; goal resumed ≤ bound;
- ``same``: the products equal the clean run's (delisting included);
- with ``--details``: vv-tool calls of both runs over the products (each billed):
  ``billed twice`` = vv-tool calls of both runs - products.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from harvester.testing import run_sandbox
from harvester.testing_resume import calls, kill_and_resume, products, run_crawl

CONCURRENCY = 16


def api_calls(sandbox, api: str) -> int:  # type: ignore[no-untyped-def]
    return int(sandbox.get("/_sandbox/stats")["stats"].get(f"{api}/calls", 0))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench resume")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--store", type=int, default=2600, help="offers of the store walked")
    parser.add_argument("--details", action="store_true", help="with -a details=vvtool")
    parser.add_argument("--seed", type=int, default=None)
    options = parser.parse_args(argv)
    rng = random.Random(options.seed)
    with run_sandbox() as sandbox, tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        size = 275 if options.details else options.store
        shop = next(s for s in sandbox.stores() if s["totalRecords"] == size)
        args = {"seller_open_id": shop["sellerOpenId"]}
        if options.details:
            args.update(details="vvtool", shop_id=shop["loginId"])
        clean_url = f"sqlite:///{tmp / 'clean.sqlite'}"
        env = {**sandbox.client_environment(), "HARVESTER_DATABASE_URL": clean_url}
        before, started = calls(sandbox), time.monotonic()
        assert run_crawl("store", args, env, tmp / "clean.log") == 0, "the clean run failed"
        clean_seconds = time.monotonic() - started
        clean_calls, clean_products = calls(sandbox) - before, products(clean_url)
        print(
            f"store of {size} offers{' with vv-tool details' if options.details else ''}: "
            f"clean run {clean_calls} calls in {clean_seconds:.1f} s"
        )
        header = "trial  kill at s  killed  done  in flight  left  resumed  bound  ok  same"
        print(header + ("  vv-tool calls  billed twice" if options.details else ""))
        within = same_count = counted = 0
        for trial in range(1, options.trials + 1):
            delay = rng.uniform(1.0, 0.9 * clean_seconds)
            url = f"sqlite:///{tmp / f'trial{trial}.sqlite'}"
            vv_before = api_calls(sandbox, "vvtool")
            result = kill_and_resume(
                sandbox, "store", args, url, delay, clean_calls, tmp / f"trial{trial}.log"
            )
            vv_calls = api_calls(sandbox, "vvtool") - vv_before
            if not result.killed:
                print(f"{trial:>5}  {delay:>9.2f}  (the run ended before the kill: not counted)")
                continue
            same = products(url) == clean_products
            left = clean_calls - result.killed_calls
            bound = left + result.in_flight
            ok = result.resumed_calls <= bound and result.in_flight <= CONCURRENCY
            within += ok
            counted += 1
            same_count += same
            line = (
                f"{trial:>5}  {delay:>9.2f}  {result.killed_calls:>6}  {result.done_units:>4}  "
                f"{result.in_flight:>9}  {left:>4}  {result.resumed_calls:>7}  {bound:>5}  "
                f"{'yes' if ok else 'NO':>3}  {'yes' if same else 'NO':>4}"
            )
            if options.details:
                line += f"  {vv_calls:>13}  {vv_calls - size:>12}"
            print(line, flush=True)
        print(
            f"resumed calls within the bound in {within}/{counted} killed runs; "
            f"products equal to the clean run's in {same_count}/{counted}"
        )
