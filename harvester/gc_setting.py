"""``HARVESTER_GC_THRESHOLDS``, read for the GC extension (the crawl process) and for
the storage writer process, which uses the same thresholds."""

from __future__ import annotations

from typing import Any


def thresholds_setting(value: Any) -> tuple[int, int, int] | None:
    """``HARVESTER_GC_THRESHOLDS`` as three integers; None when off (None, "None", "off")."""
    if not value or (isinstance(value, str) and value.strip().lower() in ("none", "off")):
        return None
    if isinstance(value, str):
        value = [part.strip() for part in value.strip("()[] ").split(",")]
    try:
        thresholds = tuple(int(part) for part in value)
    except (TypeError, ValueError):
        raise ValueError(f"HARVESTER_GC_THRESHOLDS must be three integers, not {value!r}") from None
    if len(thresholds) != 3 or any(t < 0 for t in thresholds):
        raise ValueError(
            f"HARVESTER_GC_THRESHOLDS must be three non-negative integers, not {value!r}"
        )
    return thresholds  # type: ignore[return-value]
