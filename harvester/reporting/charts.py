"""The report's charts: matplotlib figures rendered as inline SVG.

Text is drawn as paths (matplotlib's default ``svg.fonttype``), so a chart needs no font
and no file beside the page; the XML prologue and the RDF metadata are dropped so that
the SVG can sit inside the HTML.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLORS = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2", "#ca8a04"]
ERROR = "#dc2626"


def _figure(height: float = 2.6) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, height), dpi=96, layout="constrained")
    return figure


def _style(axes: Any, title: str, ylabel: str) -> None:
    axes.set_title(title, loc="left", fontsize=11, fontweight="bold")
    axes.set_ylabel(ylabel, fontsize=9)
    axes.tick_params(labelsize=8)
    axes.grid(axis="y", color="#e5e7eb")
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def svg(figure: Figure) -> str:
    """*figure* as an ``<svg>`` element for inlining."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def _times(length: int, step: int) -> list[float]:
    return [i * step for i in range(length)]


def calls_chart(timeline: dict[str, Any], limits: dict[str, float]) -> str:
    """Calls per second of each API over the run, with its limit as a dashed line."""
    figure = _figure()
    axes = figure.subplots()
    step = int(timeline.get("step", 1)) or 1
    top = 1.0
    for index, (api, counts) in enumerate(sorted(timeline.get("calls", {}).items())):
        color = COLORS[index % len(COLORS)]
        axes.plot(
            _times(len(counts), step),
            [c / step for c in counts],
            color=color,
            label=api,
            drawstyle="steps-post",
        )
        if limits.get(api):
            axes.axhline(limits[api], color=color, linestyle="--", linewidth=1)
            axes.annotate(
                f"{api} limit {limits[api]:g}/s",
                (1, limits[api]),
                xycoords=("axes fraction", "data"),
                textcoords="offset points",
                xytext=(-4, 4),
                ha="right",
                fontsize=8,
                color=color,
            )
        top = max(top, limits.get(api) or 0.0, max(counts, default=0) / step)
    if timeline.get("calls"):
        axes.legend(fontsize=8, loc="lower right")
    axes.set_ylim(bottom=0, top=top * 1.25)
    axes.set_xlabel("seconds since start", fontsize=9)
    _style(axes, "API calls per second against each API's limit", "calls / s")
    return svg(figure)


def activity_chart(timeline: dict[str, Any]) -> str:
    """Items and errors per second over the run."""
    figure = _figure()
    axes = figure.subplots()
    step = int(timeline.get("step", 1)) or 1
    items = [c / step for c in timeline.get("items", [])]
    errors = [c / step for c in timeline.get("errors", [])]
    axes.plot(_times(len(items), step), items, color=COLORS[0], drawstyle="steps-post")
    axes.set_ylim(bottom=0)
    right = axes.twinx()
    right.plot(_times(len(errors), step), errors, color=ERROR, drawstyle="steps-post")
    right.set_ylim(bottom=0, top=max(1.0, max(errors, default=0) * 1.2))
    right.tick_params(labelsize=8, colors=ERROR)
    right.set_ylabel("errors / s", fontsize=9, color=ERROR)
    right.spines["top"].set_visible(False)
    axes.set_xlabel("seconds since start", fontsize=9)
    _style(axes, "Items and errors over time", "items / s")
    return svg(figure)


def bars_chart(title: str, values: dict[str, float], color: str = ERROR) -> str:
    """Horizontal bars, largest first (dead letters by reason)."""
    pairs = sorted(values.items(), key=lambda kv: kv[1])[-12:]
    figure = _figure(max(1.4, 0.35 * len(pairs) + 0.9))
    axes = figure.subplots()
    labels = [label if len(label) <= 70 else label[:67] + "..." for label, _ in pairs]
    axes.barh(labels, [v for _, v in pairs], color=color, height=0.5)
    axes.set_ylim(-0.75, len(pairs) - 0.25)
    for index, (_, value) in enumerate(pairs):
        axes.annotate(
            f"{value:g}", (value, index), xytext=(3, -3), textcoords="offset points", fontsize=8
        )
    _style(axes, title, "")
    axes.grid(axis="x", color="#e5e7eb")
    axes.grid(axis="y", visible=False)
    return svg(figure)


def runs_chart(runs: list[dict[str, Any]]) -> str:
    """Items, duration and error rate of each of the last runs, side by side."""
    figure = _figure(2.8)
    panels = figure.subplots(1, 3)
    labels = [str(run["id"]) for run in runs]
    series = (
        ("items", "items", COLORS[0]),
        ("duration", "duration (s)", COLORS[1]),
        ("error_rate", "error rate (%)", ERROR),
    )
    for axes, (key, title, color) in zip(panels, series, strict=True):
        values = [float(run[key] or 0) * (100 if key == "error_rate" else 1) for run in runs]
        axes.bar(labels, values, color=[color if run["current"] else "#cbd5e1" for run in runs])
        axes.set_xlabel("run", fontsize=9)
        axes.set_ylim(bottom=0, top=max(1.0, max(values, default=0.0) * 1.15))
        _style(axes, title, "")
    return svg(figure)
