"""Scrapy settings of the harvester, with every ``HARVESTER_*`` default in one place.

Provider credentials and base URLs (``PANDAPON_ACCESS_KEY``, ``PANDAPON_BASE_URL``, ...)
are read from settings of the same name, else from the environment; they have no
entry here so that the environment applies unless overridden with ``-s``.

Every ``HARVESTER_*`` setting below can also be given as an environment variable of
the same name, parsed as its default's type (true/false, numbers, JSON for dicts,
lists and tuples; see :func:`harvester.config.environment_settings`); ``-s`` wins over
the environment. ``HARVESTER_DATABASE_URL`` (default ``sqlite:///data/harvester.sqlite``,
relative to the project folder) is a setting or environment variable too.
"""

from __future__ import annotations

BOT_NAME = "harvester"
SPIDER_MODULES = ["harvester.spiders"]
NEWSPIDER_MODULE = "harvester.spiders"
COMMANDS_MODULE = "harvester.commands"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# These are API calls, not pages: no robots.txt, no cookies, no redirects to follow
# (nor HTML meta refreshes, whose middleware would also warn that Referer is off).
ROBOTSTXT_OBEY = False
COOKIES_ENABLED = False
REDIRECT_ENABLED = False
METAREFRESH_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote-control HTTP server runs any Python code sent with the token it
# writes under ~/.local/state/scrapy/: off for unattended API crawls that hold credentials.
# Turn it on for a debugging session with -s REMOTE_CONTROL_ENABLED=True.
REMOTE_CONTROL_ENABLED = False
USER_AGENT = "harvester/0.1 (+https://github.com/harvester)"
LOG_LEVEL = "INFO"
# "Scraped from ..." DEBUG lines are not even built unless LOG_LEVEL is DEBUG
LOG_FORMATTER = "harvester.logformatter.HarvesterLogFormatter"
# API calls need no Referer header, and their URLs are fixed endpoints: two spider
# middlewares less on every item's way out of the callbacks
REFERER_ENABLED = False
URLLENGTH_LIMIT = 0
# API error answers arrive as 4xx/5xx too; the error middleware classifies them.
HTTPERROR_ALLOW_ALL = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_TIMEOUT = 30
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 16

REQUEST_FINGERPRINTER_CLASS = "harvester.fingerprint.AuthlessRequestFingerprinter"

SPIDER_MIDDLEWARES = {
    # a shared crawl's worker acknowledges a unit once its items are stored (frontier/)
    "harvester.middlewares.units.UnitOutput": 900,
}
DOWNLOADER_MIDDLEWARES = {
    # every API call waits for its credential's rate limit (one slot per API and credential),
    # after Scrapy's own middlewares: little runs between its admission and the download
    "harvester.middlewares.ratelimit.RateLimitMiddleware": 940,
    # classify envelope errors before RetryMiddleware (550) sees the response
    "harvester.middlewares.errors.ApiErrorMiddleware": 560,
}
# API calls are signed by the download handler as they are sent, after every middleware
# (the rate limiter's grant included); it downloads with HARVESTER_SIGNING_TRANSPORT.
DOWNLOAD_HANDLERS = {
    "http": "harvester.handlers.signing.SigningDownloadHandler",
    "https": "harvester.handlers.signing.SigningDownloadHandler",
}
#: the download handler that does the HTTP for the signing handler (Scrapy's default)
HARVESTER_SIGNING_TRANSPORT = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
ITEM_PIPELINES = {
    "harvester.pipelines.normalize.NormalizePipeline": 100,
    "harvester.pipelines.storage.SqlStoragePipeline": 800,
}
EXTENSIONS = {
    "harvester.extensions.redact.RedactSecrets": 0,
    "harvester.extensions.gc.GcThresholds": 0,
    "harvester.extensions.dead_letters.DeadLetters": 0,
    "harvester.extensions.progress.Progress": 0,
    "harvester.extensions.timeline.Timeline": 0,
    "harvester.extensions.summary.RunSummary": 0,
    # monitors run at spider_closed, before the run outcome (built later) decides
    "harvester.monitors.HarvesterMonitors": 500,
    # built last, so that its spider_closed handler runs after the monitors'
    "harvester.extensions.outcome.RunOutcome": 1000,
    "harvester.extensions.heartbeat.RunHeartbeat": 1000,
}
# the raw stats dict is logged at DEBUG by the run summary (and kept in crawl_runs.stats)
STATS_DUMP = False
# Scrapy's "Crawled N pages (at N pages/min)" line: the progress line says more
LOGSTATS_INTERVAL = 0.0
# API calls are paced and backed off by the rate-limit middleware (HARVESTER_RATE_LIMITS);
# AutoThrottle, if turned on, adapts other requests' slots only.
AUTOTHROTTLE_ENABLED = False

# --- harvester components (documented defaults) ------------------------------------
#: Garbage-collector thresholds during a crawl, in the crawl and storage writer processes
#: (CPython's default (700, 10, 10) re-walks every buffered item every few dozen items;
#: bench/README.md has the measurements behind these values); None leaves the collector alone.
HARVESTER_GC_THRESHOLDS: tuple[int, int, int] | None = (50_000, 50, 100)
#: Hold every API call to its credential's rate limit (harvester/middlewares/ratelimit.py):
#: calls evenly spaced, never more than the limit in any second; back-off and Retry-After.
HARVESTER_RATE_LIMITS_ENABLED = True
#: QPS overrides: {"aliyun": 5, "aliyun:<AccessKeyId or its logged id>": 2}; defaults are
#: each provider's DEFAULT_QPS (pandapon 10, aliyun 5, vvtool 10, aliexpress 5). Unknown
#: API names are refused.
HARVESTER_RATE_LIMITS: dict[str, float] = {}
#: Seconds added to each one-second window: QPS calls admitted per 1 + margin s, so a call
#: may reach the provider this much later than another one (relative to their admissions)
#: without putting QPS + 1 calls in any second. The rate is QPS / (1 + margin) at most.
HARVESTER_RATE_LIMIT_MARGIN = 0.025
#: A Redis server shared by every process on the same credentials (setting or environment,
#: e.g. redis://127.0.0.1:6379/0): they then share one limit, back-off and holds included.
#: Unset: each process limits itself (in-process limiter, no Redis needed).
HARVESTER_REDIS_URL: str | None = None
#: Scale-out (harvester/frontier/): with HARVESTER_REDIS_URL set, every `scrapy crawl` of
#: `related`, `taobao_items`, `aliexpress_items` or `vvtool_detail` with the same arguments
#: (and HARVESTER_FRONTIER_KEY) is a worker of one shared crawl; off: each process walks alone.
HARVESTER_FRONTIER_ENABLED = True
#: Scopes the shared crawl beyond spider + arguments (e.g. a date or a job group): workers
#: meet only with the same key. Unset: a crawl that ended is followed by a fresh one.
HARVESTER_FRONTIER_KEY: str | None = None
#: Seconds a worker's claim stays its own without renewal (renewed while it works): a
#: crashed worker's claims go back to the others after this.
HARVESTER_FRONTIER_LEASE = 60.0
#: Seconds an ended shared crawl is still joined: a worker started this late finds it done
#: (and fetches nothing); after that, the same command starts a new crawl (a re-run).
HARVESTER_FRONTIER_GRACE = 60.0
#: Items a worker claims ahead (nodes, id batches); 0: CONCURRENT_REQUESTS.
HARVESTER_FRONTIER_BUFFER = 0
#: More credentials per API (each held to its own limit; requests take them in turn):
#: {"aliyun": [{"ALIYUN_ACCESS_KEY_ID": ..., "ALIYUN_ACCESS_KEY_SECRET": ..., "ALIYUN_PID": ...}]},
#: in addition to the one of the provider's own settings / environment variables...
HARVESTER_CREDENTIALS: dict[str, list[dict[str, str]]] = {}
#: ...or in a JSON file of the same shape (keep it out of version control).
HARVESTER_CREDENTIALS_FILE: str | None = None
#: Throttle answers: the credential's interval is multiplied by this, and the request retried...
HARVESTER_BACKOFF_FACTOR = 2.0
#: (back-off never spaces a credential's calls more than this many seconds apart)
HARVESTER_BACKOFF_MAX_DELAY = 60.0
#: ...up to this many times, counted apart from RETRY_TIMES (throttle answers are expected).
HARVESTER_RATE_LIMIT_RETRY_TIMES = 10
#: Transient errors (5xx, provider "retry" codes, timeouts, dropped connections): the
#: slot's delay is multiplied by this; they are retried up to RETRY_TIMES.
HARVESTER_RETRY_BACKOFF_FACTOR = 1.5
#: Classify API answers (errors inside HTTP 200 bodies included); retry, stop or dead-letter.
HARVESTER_API_ERRORS_ENABLED = True
#: Count, redact and keep every dead letter (harvester/extensions/dead_letters.py): into the
#: database with storage on, else into HARVESTER_DEAD_LETTERS_FILE (JSON lines; a relative
#: path is relative to the project folder, that of scrapy.cfg, wherever the crawl starts).
HARVESTER_DEAD_LETTERS_ENABLED = True
HARVESTER_DEAD_LETTERS_FILE = "data/dead_letters.jsonl"
#: Map every ApiRecord to the product schema.
HARVESTER_NORMALIZE_ENABLED = True
#: Write items to SQL. Database URL: HARVESTER_DATABASE_URL (setting or environment),
#: default sqlite:///data/harvester.sqlite.
HARVESTER_STORAGE_ENABLED = True
#: Upgrade the database schema (Alembic, shipped in the package) at spider open;
#: off in production if schema changes are applied with `scrapy dbupgrade`.
HARVESTER_STORAGE_AUTO_MIGRATE = True
#: Where batches are written: "process" (a writer process: SQL work off the reactor's
#: GIL) or "thread" (a writer thread in the crawl process).
HARVESTER_STORAGE_WRITER = "process"
#: The writer process runs this much nicer (lower CPU priority) than the crawl; 0 keeps
#: the crawl's priority. Not 10 any more: on a busy machine a niced writer got little CPU
#: and the crawl waited on it (back-pressure 27 s of a 31 s crawl at nice 10, 0.6 s of
#: 15 s at 0; bench/README.md, Throughput).
HARVESTER_STORAGE_WRITER_NICE = 0
#: Items per write batch.
HARVESTER_STORAGE_BATCH_SIZE = 500
#: Seconds an item may wait in the buffer before a partial batch is written.
HARVESTER_STORAGE_MAX_LATENCY = 2.0
#: Queued batches beyond which process_item waits for the writer (back-pressure).
HARVESTER_STORAGE_MAX_PENDING = 4
#: A failing batch is retried this many times, after BACKOFF, 2×BACKOFF, ... seconds...
HARVESTER_STORAGE_RETRY_TIMES = 3
HARVESTER_STORAGE_RETRY_BACKOFF = 0.5
#: ...then written here as JSON lines; `scrapy replay_spool` writes it to the database.
#: A relative path is relative to the project folder (that of scrapy.cfg), as the SQLite
#: path of HARVESTER_DATABASE_URL: the crawl and `scrapy replay_spool` find the same folder
#: wherever they run from.
HARVESTER_STORAGE_SPOOL_DIR = "data/spool"
#: Replay batches spooled for this database at spider open, before the run writes.
HARVESTER_STORAGE_REPLAY_AT_OPEN = True
#: Decide each run's status and exit code at close (harvester/outcome.py, README
#: "Unattended runs"); `scrapy crawl` exits with it.
HARVESTER_OUTCOME_ENABLED = True
#: Record a heartbeat (and host, pid) in crawl_runs every this many seconds, from a thread;
#: 0 turns the heartbeat off.
HARVESTER_HEARTBEAT_INTERVAL = 15.0
#: A `running` run whose heartbeat is older than this many seconds (or whose process is
#: gone, on this host) is marked `crashed` by the next run and by `scrapy runs`.
HARVESTER_HEARTBEAT_STALE_AFTER = 90.0
#: Resume a crashed or interrupted run of the same spider and arguments (the work ledger);
#: `-s HARVESTER_RESUME=False` starts afresh (README "Unattended runs").
HARVESTER_RESUME = True
#: Seconds a finished unit (a page, a detail) may wait in the storage buffer before its
#: batch is written (at most HARVESTER_STORAGE_MAX_LATENCY): what a `kill -9` makes the
#: resumed run fetch again. Batches still fill up to HARVESTER_STORAGE_BATCH_SIZE first.
HARVESTER_LEDGER_MAX_LATENCY = 0.5
#: store -a details=vvtool: skip the (billed) detail of a product fetched less than this
#: many hours ago whose listing did not change since; 0 fetches every detail (per run:
#: -s HARVESTER_VVTOOL_DETAIL_MAX_AGE=0).
HARVESTER_VVTOOL_DETAIL_MAX_AGE = 24.0
#: Progress of bounded crawls (harvester/extensions/progress.py): an INFO line every
#: HARVESTER_PROGRESS_INTERVAL seconds with done/planned calls, %, items, rate and ETA,
#: and stats under harvester/progress/.
HARVESTER_PROGRESS_ENABLED = True
HARVESTER_PROGRESS_INTERVAL = 10.0
#: A live progress bar (rich) under the log when stderr is a terminal.
HARVESTER_PROGRESS_BAR = True
#: Per-second counters (calls per API, items, errors, back-offs) kept in the final stats
#: as harvester/timeline, for `scrapy report`...
HARVESTER_TIMELINE_ENABLED = True
#: ...folded into at most this many buckets.
HARVESTER_TIMELINE_POINTS = 1800
#: The end-of-run summary block (harvester/extensions/summary.py); it also logs the raw
#: stats at DEBUG (STATS_DUMP is off).
HARVESTER_SUMMARY_ENABLED = True
#: Monitors (Spidermon) at close: harvester/monitors/. A failed monitor fails the run.
HARVESTER_MONITORS_ENABLED = True
#: Fewest items a run must scrape (0: no minimum).
HARVESTER_MONITOR_MIN_ITEMS = 0
#: Highest share of API calls that may end in an error (dead-lettered or given up).
HARVESTER_MONITOR_MAX_ERROR_RATE = 0.05
#: Highest share of dead letters (records and calls) per item scraped.
HARVESTER_MONITOR_MAX_DEAD_LETTER_RATE = 0.05
#: Finish reasons that pass.
HARVESTER_MONITOR_FINISH_REASONS = ["finished"]
#: Least share of products with a value in each field (0 and False are values;
#: None, "", [] and {} are not): {"product_id": 1.0, "price": 0.9}.
HARVESTER_MONITOR_FIELD_COVERAGE: dict[str, float] = {
    "source": 1.0,
    "product_id": 1.0,
    "title": 0.9,
    "price": 0.9,
    "currency": 0.9,
}
#: When a monitor fails, POST the failures as JSON to this URL; empty (default): off.
#: Other Spidermon actions (e-mail, Slack...): README "Monitors".
HARVESTER_MONITOR_WEBHOOK_URL = ""
#: Seconds the webhook POST may take (connect and answer); it runs beside the closing
#: crawl without blocking it, and the process waits at most this long for it at exit.
HARVESTER_MONITOR_WEBHOOK_TIMEOUT = 10.0
SPIDERMON_ENABLED = True
SPIDERMON_SPIDER_CLOSE_MONITORS = ["harvester.monitors.suite.CloseMonitors"]
# field coverage is counted by harvester.monitors (the checked fields only, 0 is a value)
SPIDERMON_ADD_FIELD_COVERAGE = False
#: PandaPon: pageSize asked for (the server may cap it; paging follows totalPage).
HARVESTER_PANDAPON_PAGE_SIZE = 50
#: PandaPon: offers one store query can page through; bigger stores are split in price bands.
HARVESTER_PANDAPON_SEARCH_WINDOW = 2000
#: PandaPon: a store answer claiming more offers than this is a dead letter (a sanity
#: bound: a bad totalRecords must not split the walk into millions of bands).
HARVESTER_PANDAPON_MAX_RECORDS = 1_000_000
#: PandaPon: upper bound of the first price band when a store must be split.
HARVESTER_PANDAPON_MAX_PRICE = "1000000"
#: PandaPon: ``ms`` or ``s`` for the ``timestamp`` header.
HARVESTER_PANDAPON_TIMESTAMP_UNIT = "ms"
#: Alibaba Cloud GetProductInfoByIds: ids per call, 1-40 (the API's maximum is 40;
#: more is refused before any request).
HARVESTER_ALIYUN_BATCH_SIZE = 40
#: vv-tool: most detail calls one run may make (every call is billed).
HARVESTER_VVTOOL_MAX_CALLS = 10000
#: AliExpress productdetail.get: ids per call (inferred maximum 50;
#: see harvester/apis/aliexpress/spec.py).
HARVESTER_ALIEXPRESS_BATCH_SIZE = 20
#: AliExpress sign method: md5 (TOP), hmac-sha256, or sha256 (IOP SDK).
HARVESTER_ALIEXPRESS_SIGN_METHOD = "md5"

# --- HARVESTER_* from the environment (project priority: -s wins) ---------------------
# A value that does not parse is left out here and refused by `scrapy crawl` in one line.
from harvester.config import environment_settings as _environment_settings  # noqa: E402

globals().update(_environment_settings(globals())[0])
