"""Reading numbers off the page and out of API documents."""
from __future__ import annotations

import re
from typing import Any

from . import seed


def resolve(doc: dict, path: str) -> Any:
    cur: Any = doc
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


def en_int(n: int) -> str:
    return f"{n:,}"


def live(stack, campaign: str, tab: str, executions=()) -> dict:
    q = f"channel={tab}" + "".join(f"&execution={e}" for e in executions)
    return seed.get(stack.api_url, stack.key, f"/v1/campaigns/{campaign}/live?{q}")


def kpis(page, widget: str) -> dict[str, dict]:
    """{metric: {src, value, text, rate, rate_value}} of a widget's KPI tiles."""
    return page.eval_on_selector_all(
        f".widget[data-widget='{widget}'] .kpi",
        """tiles => Object.fromEntries(tiles.map(t => {
             const v = t.querySelector('.kpi-value'), r = t.querySelector('.kpi-rate');
             return [t.dataset.metric, {src: v.dataset.src, value: v.dataset.value, text: v.textContent,
                     rate: r.dataset.rate || null, rate_value: r.dataset.value ?? null, rate_text: r.textContent}];
           }))""")


def table(page, widget: str, index: int = 0) -> dict[str, dict[str, str]]:
    """{row key: {column: data-value}} of a widget's n-th table (its Total foot row too)."""
    return page.eval_on_selector_all(
        f".widget[data-widget='{widget}'] table.data-table",
        """(tables, i) => Object.fromEntries(Array.from(tables[i].querySelectorAll('tbody tr[data-row], tfoot tr[data-row]')).map(tr =>
             [tr.dataset.row, Object.fromEntries(Array.from(tr.children).map(c => [c.dataset.col, c.dataset.value]))]))""",
        index)


def widget_ids(page) -> list[str]:
    return page.eval_on_selector_all(".grid-stack .widget[data-widget]", "els => els.map(e => e.dataset.widget)")


def number(s: str | None) -> float | None:
    return None if s in (None, "") else float(s)


def inferred_of(doc: dict, src: str) -> int:
    """What the API says the source never reported but proved, for a sent or delivered tile's source path
    (the tile shows reported + inferred); 0 for any other figure."""
    m = re.fullmatch(r"totals\.(sent|delivered)", src)
    if m:
        return int((doc.get("inferred") or {}).get(m[1], 0))
    m = re.fullmatch(r"blocks\.delivery_overview\.(sent|delivered)", src)
    return int(resolve(doc, f"{src}_inferred") or 0) if m else 0


def check_kpis_match(page, widget: str, doc: dict) -> dict[str, dict]:
    """Every KPI tile shows the number at its source path in the API document (value and formatted text);
    sent and delivered with the inferred messages added (the tile's note says how many)."""
    tiles = kpis(page, widget)
    assert tiles, f"no KPI tiles in {widget}"
    for metric, tile in tiles.items():
        expected = resolve(doc, tile["src"])
        if isinstance(expected, int):
            expected += inferred_of(doc, tile["src"])
        assert number(tile["value"]) == expected, (widget, metric, tile, expected)
        if isinstance(expected, int):
            assert tile["text"] == en_int(expected), (widget, metric, tile["text"])
        if tile["rate"]:
            assert number(tile["rate_value"]) == doc["rates"][tile["rate"]], (widget, metric, tile)
            if doc["rates"][tile["rate"]] is None:
                assert tile["rate_text"].endswith("—")
    return tiles


def check_execution_table(page, widget: str, doc: dict, metrics: list[str]) -> None:
    rows = table(page, widget)
    for e in doc["executions"]:
        key = e["execution_id"] if e["execution_id"] is not None else "(no execution id)"
        assert key in rows, (widget, key, list(rows))
        for m in metrics:
            assert number(rows[key][m]) == e["totals"][m], (widget, key, m)
    if len(doc["executions"]) > 1:
        for m in metrics:
            assert number(rows["Total"][m]) == doc["totals"][m]


def check_breakdown(page, widget: str, doc: dict, dim: str, index: int = 0) -> None:
    rows = table(page, widget, index)
    expected = [r for r in doc["breakdowns"][dim] if r["count"]]  # rows counted 0 by the widget's metric say nothing
    assert len(rows) == len(expected) or (not expected and len(rows) == 0), (widget, rows, expected)
    by_count = sorted(number(r["count"]) for r in rows.values())
    assert by_count == sorted(r["count"] for r in expected), (widget, rows, expected)
    for r in expected:
        if dim in ("bounce_type", "interaction_type", "error_type") or r["value"] in ("unspecified", "other"):
            continue  # shown with a translated label
        assert number(rows[r["value"]]["count"]) == r["count"], (widget, r)
        assert number(rows[r["value"]]["share"]) == r["share"], (widget, r)


def text_of(page, selector: str) -> str:
    return re.sub(r"\s+", " ", page.inner_text(selector)).strip()
