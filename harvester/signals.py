"""Signals of the harvester: how its components talk to each other.

``dead_letter``: sent with ``dead_letter=<harvester.items.DeadLetter>`` for every
response or record that could not be parsed or validated. The dead-letter extension
(:mod:`harvester.extensions.dead_letters`) counts it, strips secrets and keeps it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

dead_letter = object()

#: Sent by the dead-letter extension with ``dead_letter=<DeadLetter>`` (secrets stripped,
#: already counted) when storage is on: the SQL storage pipeline writes it.
dead_letter_kept = object()

#: Sent by the error middleware with ``request=`` and ``error=<ApiError>`` (and an
#: optional ``factor=``) when an API answered "too many requests" or failed
#: transiently: the throttle extension backs that request's slot off.
api_backoff = object()

#: Sent by the error middleware with ``request=`` and ``response=`` for every API
#: answer it judged successful (AutoThrottle adapts the slot on these only).
api_answer = object()

#: Sent by the store spider with ``source=`` and ``seller_id=`` when one store's listing
#: was walked completely: every page answered and fully processed, no record
#: dead-lettered, no truncation, no filter. The storage pipeline marks that store's
#: products not seen in the run delisted (unless the run lost or spooled rows).
listing_complete = object()

#: A question, sent without arguments by a component that records the run (the storage
#: pipeline): harvester spiders answer with the ``-a`` arguments they were given, as a
#: dict (handlers' return values come back from ``send_catch_log``; see
#: :func:`run_arguments_of`).
run_arguments = object()

#: Progress: sent by spiders with ``count=<int>`` and ``api=<str>`` when they learn how
#: many calls a bounded piece of work needs...
units_planned = object()
#: ...and with ``api=<str>`` when one call's callback (or errback) is done.
unit_finished = object()

#: Sent by the storage pipeline with ``units=<list[str]>`` (work-ledger unit keys) and
#: ``durable=<bool>`` once the batch holding those units' markers (:class:`UnitDone`,
#: after the units' items) was committed or spooled (``durable=True``), or could be
#: neither (``False``: lost). A worker of a shared crawl acknowledges a unit only then, so
#: that a crash never loses items of a unit the other workers take as done.
units_stored = object()

#: Sent by the unit-output spider middleware with ``request=`` and ``marker=`` (the
#: :class:`~harvester.items.UnitDone` marker the callback yielded last, or None) when a
#: callback's output has ended (all its items handed to the item pipelines).
answer_processed = object()

#: Sent by the storage pipeline once the run's ``crawl_runs`` row exists, with
#: ``run_id=<int>``, ``resumes=<int | None>`` (the first run of the crashed or
#: interrupted job this run resumes) and ``done=<dict[str, Any]>`` (the work-ledger
#: units already done, unit key → stored outcome; empty for a fresh run). The heartbeat
#: and the work ledger (:mod:`harvester.ledger`) listen to it.
run_started = object()

#: Sent by the outcome extension at ``spider_closed`` with ``status=<str>`` (a
#: ``crawl_runs.status`` value: ``complete``, ``incomplete``, ``failed``,
#: ``interrupted``), ``exit_code=<int>`` and ``reason=<str>`` (one line: why, and what
#: to do). ``scrapy crawl`` exits with ``exit_code``; see :mod:`harvester.outcome`.
run_finished = object()


def run_arguments_of(crawler: Crawler) -> dict[str, Any]:
    """The run's arguments, as the spider answers :data:`run_arguments`."""
    merged: dict[str, Any] = {}
    for _receiver, answer in crawler.signals.send_catch_log(signal=run_arguments):
        if isinstance(answer, dict):
            merged.update(answer)
    return merged
