"""The sandbox's own endpoints under ``/_sandbox/``: ground truth and switches."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from harvester.sandbox.messages import SandboxResponse

if TYPE_CHECKING:
    from harvester.sandbox.messages import SandboxRequest
    from harvester.sandbox.server import SandboxApp


def stores(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    """Every 1688 store's ``sellerOpenId`` and ``totalRecords``: the ground truth."""
    return SandboxResponse(200, {"stores": app.catalog.summary()})


def stats(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    with app.lock:
        return SandboxResponse(
            200,
            {
                "stats": dict(app.stats),
                "first_call": dict(app.first_call),
                "last_call": dict(app.last_call),
            },
        )


def arrivals(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    """Arrival times (``time.monotonic()`` seconds, throttled calls included) of one API's
    calls (``?api=``), the id of the credential of each (a hash, never the value), and
    the admission time each client sent in ``X-Harvester-Admitted`` (``bench ratelimit``
    sends it: same machine, same monotonic clock), else null."""
    import hashlib

    with app.lock:
        seen = list(app.arrivals.get(request.query.get("api", ""), []))
    return SandboxResponse(
        200,
        {
            "times": [t for t, _, _ in seen],
            "credentials": [hashlib.sha256(c.encode()).hexdigest()[:10] for _, c, _ in seen],
            "admitted": [float(a) if a else None for _, _, a in seen],
        },
    )


def faults(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    """Queue faults: ``{"api": "pandapon", "fault": "http500", "count": 2, ...params}``;
    fail a share of the calls: ``{"api": ..., "rate": 0.1, "mix": [{"fault": ...}], "seed": 1}``;
    ``{"clear": true}`` drops every pending fault."""
    body = request.json() or {}
    if body.get("clear"):
        app.faults.clear()
        return SandboxResponse(200, {"ok": True})
    if "rate" in body:
        try:
            app.faults.set_random(
                body["api"], float(body["rate"]), list(body.get("mix") or []), body.get("seed")
            )
        except (KeyError, ValueError, TypeError) as exc:
            return SandboxResponse(400, {"error": str(exc)})
        return SandboxResponse(200, {"ok": True})
    params = {k: v for k, v in body.items() if k not in ("api", "fault", "count")}
    try:
        app.faults.add(body["api"], body["fault"], int(body.get("count", 1)), **params)
    except (KeyError, ValueError) as exc:
        return SandboxResponse(400, {"error": str(exc)})
    return SandboxResponse(200, {"ok": True})


def catalog(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    """Change the catalog: ``{"reprice": {"<offerId>": "12.34"}, "delist": [offerId, ...],
    "poison": {"<offerId>": <an object patching the offer's JSON, or any value replacing
    it>}}`` (a poisoned offer is served malformed in store listings)."""
    body = request.json() or {}
    try:
        for offer_id, price in (body.get("reprice") or {}).items():
            app.catalog.reprice(int(offer_id), Decimal(str(price)))
        for offer_id in body.get("delist") or []:
            app.catalog.delist(int(offer_id))
        for offer_id, value in (body.get("poison") or {}).items():
            app.catalog.poison(int(offer_id), value)
    except (KeyError, ValueError, ArithmeticError) as exc:
        return SandboxResponse(400, {"error": f"unknown offer or bad price: {exc}"})
    return SandboxResponse(200, {"ok": True})


def offers(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    """Offer ids of one store (``?sellerOpenId=``), listed ones only."""
    store = app.catalog.by_seller.get(request.query.get("sellerOpenId", ""))
    if store is None:
        return SandboxResponse(404, {"error": "unknown sellerOpenId"})
    return SandboxResponse(200, {"offerIds": [o.offer_id for o in store.listed_offers()]})


def register(app: SandboxApp) -> None:
    app.route("GET", "/_sandbox/stores", "_sandbox", stores)
    app.route("GET", "/_sandbox/offers", "_sandbox", offers)
    app.route("GET", "/_sandbox/stats", "_sandbox", stats)
    app.route("GET", "/_sandbox/arrivals", "_sandbox", arrivals)
    app.route("POST", "/_sandbox/faults", "_sandbox", faults)
    app.route("POST", "/_sandbox/catalog", "_sandbox", catalog)
