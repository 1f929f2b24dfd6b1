"""The period's chart as a PNG, rendered server side with matplotlib (Agg).

matplotlib is imported lazily (it costs ~0.5 s) and told to keep its font
cache in /tmp, the only writable place in Lambda. Legends use the catalogue's
labels in the subscription's language; no producer-controlled string is drawn.
"""
from __future__ import annotations

import io
import os
import tempfile
import threading
from datetime import datetime
from typing import Any, Optional

from .. import catalogue

MAX_LINES = 6
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
    zone = ZoneInfo(tz)
    with _LOCK:
        fig = Figure(figsize=(6.4, 2.8), dpi=100)
        ax = fig.add_subplot(1, 1, 1)
        for name in metrics:
            ax.plot(times, values[name], label=labels.get(name, name), linewidth=1.6)
        step = int(series.get("step_seconds") or 3600)
        span = (times[-1] - times[0]).total_seconds()
        ax.xaxis.set_major_formatter(DateFormatter("%H:%M" if span <= 86400 and step < 86400 else "%d/%m", tz=zone))
        ax.set_ylim(bottom=0)
        ax.grid(True, color="#e5e7eb", linewidth=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=min(6, len(metrics)))
        if title:
            ax.set_title(title, fontsize=9, loc="left")
        ax.margins(x=0)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
    return out.getvalue()
