"""``python -m harvester.sandbox --port 8960``: serve every API on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from typing import NoReturn

from harvester.apis import get_provider
from harvester.sandbox import providers
from harvester.sandbox.server import SandboxConfig, SandboxServer, build_app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harvester.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8960, help="port; 0 picks a free one (default 8960)"
    )
    parser.add_argument("--seed", type=int, default=1688, help="catalog seed (default 1688)")
    parser.add_argument(
        "--stores",
        default=None,
        help="comma-separated store sizes, e.g. 0,7,275,50000 (default: 0,1,7,275,2600,6000)",
    )
    parser.add_argument(
        "--max-page-size", type=int, default=50, help="server cap on pageSize (default 50)"
    )
    parser.add_argument(
        "--search-window",
        type=int,
        default=2000,
        help="offers one store query can reach (default 2000)",
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="API[=QPS]",
        help="enforce a per-credential QPS limit on an API (default: its documented DEFAULT_QPS): "
        "at most QPS calls in any sliding second, the others answered with the API's own "
        "throttle error (repeatable)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="print shell export lines (every API's base URL and the credentials the sandbox "
        "accepts) for a sandbox at --host/--port, and exit: "
        'eval "$(python -m harvester.sandbox --print-env --port 8960)"',
    )
    return parser.parse_args(argv)


def parse_rate_limits(specs: list[str]) -> dict[str, float]:
    """``["aliyun=5", "vvtool"]`` → ``{"aliyun": 5.0, "vvtool": <vvtool's DEFAULT_QPS>}``."""
    limits: dict[str, float] = {}
    for spec in specs:
        name, _, value = spec.partition("=")
        try:
            provider = get_provider(name.strip())
        except KeyError as exc:
            raise ValueError(f"--rate-limit {spec}: {exc.args[0]}") from None
        try:
            qps = float(value) if value else float(provider.DEFAULT_QPS)
        except ValueError:
            raise ValueError(f"--rate-limit {spec}: QPS must be a number") from None
        if qps <= 0:
            raise ValueError(f"--rate-limit {spec}: QPS must be positive")
        limits[provider.NAME] = qps
    return limits


def export_lines(base_url: str) -> str:
    """``export NAME=value`` lines (shell-quoted) pointing every spider at *base_url*."""
    environment = providers.client_environment(base_url)
    return "".join(
        f"export {name}={shlex.quote(environment[name])}\n" for name in sorted(environment)
    )


def _fail(message: str) -> NoReturn:
    """One line on standard error, exit code 2 (a usage mistake)."""
    print(f"python -m harvester.sandbox: error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.print_env:
        if args.port == 0:
            _fail("--print-env needs the sandbox's --port (not 0)")
        sys.stdout.write(export_lines(f"http://{args.host}:{args.port}"))
        sys.exit(0)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s sandbox %(message)s",
    )
    try:
        rate_limits = parse_rate_limits(args.rate_limit)
    except ValueError as exc:
        _fail(str(exc))
    config = SandboxConfig(
        seed=args.seed,
        store_sizes=[int(s) for s in args.stores.split(",")] if args.stores else None,
        max_page_size=args.max_page_size,
        search_window=args.search_window,
        rate_limits=rate_limits,
    )
    try:
        server = SandboxServer(build_app(config), args.host, args.port)
    except OSError as exc:  # most often: the port is taken (another sandbox still runs)
        _fail(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror}); stop what uses it "
            "or pick another --port (0: any free one)"
        )
    # One JSON line on stdout so that scripts (and tests) can read the address.
    print(
        json.dumps({"sandbox": server.base_url, "stores": len(server.app.catalog.stores)}),
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
