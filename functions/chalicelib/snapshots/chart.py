"""The period's chart as a PNG, rendered server side with matplotlib (Agg).

matplotlib is imported lazily (it costs ~0.5 s) and told to keep its font
cache in /tmp, the only writable place in Lambda. Legends use the catalogue's
labels in the subscription's language; no producer-controlled string is drawn.

Sized for a phone: the figure is FIGURE_INCHES wide with FONT_PT text, so that
shown DISPLAY_MAX_PX wide on a desktop and ~PHONE_PX wide on a phone its
smallest text stays readable (see text_px); at 2x pixels it stays sharp. The
last slot, still running, is drawn dashed and said so under the legend: a
partial hour is not a collapse.
"""
from __future__ import annotations

import io
import os
import textwrap
import tempfile
import threading
from datetime import datetime
from typing import Any, Optional

from .. import catalogue

MAX_LINES = 6
FIGURE_INCHES = (4.2, 3.4)
DPI = 200
FONT_PT = 10  # ticks and legend; the title is a little larger
DISPLAY_MAX_PX = 480  # the <img>'s width in the email (render.py)
PHONE_PX = 340  # a phone's mail column
PARTIAL = {"en": "Dashed: the current {unit}, still in progress", "fr": "En pointillés : {unit} en cours, incomplète"}
UNITS = {"en": {60: "minute", 3600: "hour", 86400: "day"},
         "fr": {60: "la minute", 3600: "l'heure", 86400: "la journée"}}
_LOCK = threading.Lock()  # pyplot's state machine is not thread-safe; we use the OO API but be safe
# Series worth charting per tab, in order of preference (SPEC's chart widgets).
PREFERRED = ("sent", "delivered", "bounce", "error", "open", "click", "impression", "interaction",
             "retry", "unsubscribe", "spam_complaint", "action")


def _pyplot_free_figure() -> Any:
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "matplotlib"))
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    return Figure


def pick_metrics(values: dict[str, list[int]]) -> list[str]:
    nonzero = [m for m in PREFERRED if any(values.get(m, []))]
    rest = [m for m in values if m not in PREFERRED and any(values[m])]
    return (nonzero + rest)[:MAX_LINES]


def cut_at(stamps: list[str], values: dict[str, list[int]], now: Optional[float]) -> tuple[list[datetime], dict[str, list[int]]]:
    """Slots that started by `now`: a chart never runs into the future as zeros."""
    times = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in stamps]
    keep = len(times) if now is None else sum(1 for t in times if t.timestamp() <= now)
    return times[:keep], {m: v[:keep] for m, v in values.items()}


def text_px(shown_px: float, points: float = FONT_PT) -> float:
    """How tall `points` text reads when the chart is shown `shown_px` wide."""
    return points / 72 * shown_px / FIGURE_INCHES[0]


def partial_last(times: list[datetime], step: int, now: Optional[float]) -> bool:
    """Whether the last slot is still running at `now` (drawn dashed, never as a drop)."""
    return bool(times) and now is not None and times[-1].timestamp() + step > now


def render_chart(doc: dict[str, Any], language: str, title: str = "", tz: str = "UTC",
                 now: Optional[float] = None) -> Optional[bytes]:
    """PNG bytes of the document's series (times in `tz`, cut at `now`), or None when there is nothing to draw."""
    series = doc.get("series") or {}
    times, values = cut_at(series.get("timestamps") or [], series.get("values") or {}, now)
    metrics = pick_metrics(values)
    if not times or not metrics:
        return None
    labels = catalogue.labels(language)
    Figure = _pyplot_free_figure()
    from zoneinfo import ZoneInfo
    from matplotlib.dates import DateFormatter
    from matplotlib.ticker import FuncFormatter, MaxNLocator
    zone = ZoneInfo(tz)
    step = int(series.get("step_seconds") or 3600)
    partial = partial_last(times, step, now)
    with _LOCK:
        fig = Figure(figsize=FIGURE_INCHES, dpi=DPI)
        ax = fig.add_subplot(1, 1, 1)
        for name in metrics:
            solid = times[:-1] if partial and len(times) > 1 else times
            line, = ax.plot(solid, values[name][:len(solid)], label=labels.get(name, name), linewidth=1.6)
            if partial:  # the running slot: dashed from the last complete one
                ax.plot(times[-2:], values[name][-2:], color=line.get_color(), linewidth=1.6, linestyle=(0, (2, 2)),
                        marker="o" if len(times) == 1 else None, markersize=3)
        span = (times[-1] - times[0]).total_seconds()
        ax.xaxis.set_major_formatter(DateFormatter("%H:%M" if span <= 86400 and step < 86400 else "%d/%m", tz=zone))
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _group(v, language)))
        ax.set_ylim(bottom=0)
        ax.grid(True, color="#e5e7eb", linewidth=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=FONT_PT)
        legend = ax.legend(fontsize=FONT_PT, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.14),
                           ncol=min(3, len(metrics)), handlelength=1.4, columnspacing=1.0)
        if partial:
            unit = UNITS[language].get(step, UNITS[language][3600])
            legend.set_title(PARTIAL[language].format(unit=unit), prop={"size": FONT_PT - 1, "style": "italic"})
        if title:
            ax.set_title(textwrap.fill(title, 46), fontsize=FONT_PT + 0.5, loc="left")
        ax.margins(x=0)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
    return out.getvalue()


def _group(v: float, language: str) -> str:
    """Axis numbers as the email writes them: 1,800 in English, 1 800 in French."""
    text = f"{int(v):,}"
    return text.replace(",", "\u202f") if language == "fr" else text
