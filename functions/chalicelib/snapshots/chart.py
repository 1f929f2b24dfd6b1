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


def render_chart(doc: dict[str, Any], language: str, title: str = "") -> Optional[bytes]:
    """PNG bytes of the document's series, or None when there is nothing to draw."""
    series = doc.get("series") or {}
    stamps, values = series.get("timestamps") or [], series.get("values") or {}
    metrics = pick_metrics(values)
    if not stamps or not metrics:
        return None
    labels = catalogue.labels(language)
    times = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in stamps]
    Figure = _pyplot_free_figure()
    from matplotlib.dates import DateFormatter
    with _LOCK:
        fig = Figure(figsize=(6.4, 2.6), dpi=100)
        ax = fig.add_subplot(1, 1, 1)
        for name in metrics:
            ax.plot(times, values[name], label=labels.get(name, name), linewidth=1.6)
        step = int(series.get("step_seconds") or 3600)
        ax.xaxis.set_major_formatter(DateFormatter("%H:%M" if step < 86400 else "%d/%m"))
        ax.set_ylim(bottom=0)
        ax.grid(True, color="#e5e7eb", linewidth=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=8, frameon=False, loc="upper left", ncol=min(3, len(metrics)))
        if title:
            ax.set_title(title, fontsize=9, loc="left")
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
    return out.getvalue()
