"""The baseline of bench/report.py: the same reports computed by DuckDB over raw events.

Keeping every event and grouping at read time is what a team would pick
first; this module builds that table from the benchmark's generated campaign
(`mix.sigs`: event signatures, `camp.ts/sig/profile`: numpy columns) and
holds the SQL equivalents of the live and global reports.
"""
from __future__ import annotations

import time
from typing import Any

from chalicelib import catalogue


def duck_table(con, mix: Any, camp: Any, channel: str) -> None:
    con.execute("DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS sigs")
    con.execute("CREATE TABLE sigs(sig INTEGER, type VARCHAR, machine BOOLEAN, recipient_domain VARCHAR, "
                "reason VARCHAR, bounce_type VARCHAR, error_type VARCHAR, url VARCHAR, offer_id VARCHAR)")
    con.executemany("INSERT INTO sigs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [[i, *s[:8]] for i, s in enumerate(mix.sigs)])
    con.register("raw_np", {"ts": camp.ts, "sig": camp.sig, "profile": camp.profile})
    con.execute(f"""CREATE TABLE events AS
        SELECT to_timestamp(r.ts) AS ts,
               '{camp.campaign_id}' AS campaign_id, '{channel}' AS channel, s.type, 'p' || r.profile AS profile_id,
               s.machine, s.recipient_domain, s.reason, s.bounce_type, s.error_type, s.url, s.offer_id
        FROM raw_np r JOIN sigs s USING (sig) ORDER BY r.ts""")
    con.unregister("raw_np")


def live_sql(camp: Any, channel: str, start: int, end: int) -> dict[str, str]:
    w = (f"campaign_id = '{camp.campaign_id}' AND channel = '{channel}' "
         f"AND ts >= to_timestamp({start}) AND ts < to_timestamp({end})")
    return {
        "totals": f"SELECT type, count(*) AS n, count(*) FILTER (WHERE machine) AS machine FROM events WHERE {w} GROUP BY type",
        "breakdowns": f"""SELECT 'recipient_domain' AS dim, recipient_domain AS value, type, count(*) FROM events
                  WHERE {w} AND recipient_domain IS NOT NULL GROUP BY ALL
              UNION ALL SELECT 'reason', coalesce(reason, 'unspecified'), type, count(*) FROM events
                  WHERE {w} AND type IN ('bounce', 'error', 'excluded') GROUP BY ALL
              UNION ALL SELECT 'bounce_type', bounce_type, type, count(*) FROM events WHERE {w} AND type = 'bounce' GROUP BY ALL
              UNION ALL SELECT 'error_type', coalesce(error_type, 'unspecified'), type, count(*) FROM events
                  WHERE {w} AND type = 'error' GROUP BY ALL
              UNION ALL SELECT 'url', url, type, count(*) FROM events WHERE {w} AND type = 'click' GROUP BY ALL
              UNION ALL SELECT 'offer', offer_id, type, count(*) FROM events WHERE {w} AND offer_id IS NOT NULL GROUP BY ALL""",
        "series": f"SELECT date_trunc('hour', ts) AS h, type, count(*) FROM events WHERE {w} GROUP BY ALL",
        "distinct": f"""SELECT count(DISTINCT profile_id) FILTER (WHERE type = 'open') AS open,
                               count(DISTINCT profile_id) FILTER (WHERE type = 'click') AS click,
                               count(DISTINCT profile_id) FILTER (WHERE type = 'targeted') AS targeted
                        FROM events WHERE {w}""",
        "rows_in_window": f"SELECT count(*) FROM events WHERE {w}",
    }


def global_sql(camp: Any, channel: str, start: int | None = None, end: int | None = None) -> dict[str, str]:
    w = f"campaign_id = '{camp.campaign_id}' AND channel = '{channel}'"
    if start is not None:
        w += f" AND ts >= to_timestamp({start}) AND ts < to_timestamp({end})"
    return {
        "totals": f"SELECT type, count(*) AS n, count(*) FILTER (WHERE machine) AS machine FROM events WHERE {w} GROUP BY type",
        "distinct": f"""SELECT count(DISTINCT profile_id) FILTER (WHERE type = 'open') AS open,
                               count(DISTINCT profile_id) FILTER (WHERE type = 'click') AS click,
                               count(DISTINCT profile_id) FILTER (WHERE type = 'targeted') AS targeted
                        FROM events WHERE {w}""",
        "top_links": f"""SELECT url, count(*) AS clicks, count(DISTINCT profile_id) AS distinct_clicks FROM events
                         WHERE {w} AND type = 'click' GROUP BY url ORDER BY clicks DESC LIMIT 10""",
        "errors_by_type": f"""SELECT coalesce(error_type, 'unspecified'), count(*) FROM events
                              WHERE {w} AND type = 'error' GROUP BY ALL ORDER BY 2 DESC""",
        "by_domain": f"""SELECT recipient_domain, count(*) FILTER (WHERE type = 'sent') AS sent,
                            count(*) FILTER (WHERE type = 'spam_complaint') AS complaints,
                            count(*) FILTER (WHERE type = 'open') AS opens, count(*) FILTER (WHERE type = 'click') AS clicks,
                            count(*) FILTER (WHERE type = 'error') AS errors, count(*) FILTER (WHERE type = 'bounce') AS bounces,
                            count(DISTINCT profile_id) FILTER (WHERE type = 'open') AS openers,
                            count(DISTINCT profile_id) FILTER (WHERE type = 'click') AS clickers
                         FROM events WHERE {w} AND recipient_domain IS NOT NULL GROUP BY ALL""",
        "series": f"""SELECT date_trunc('day', ts) AS d, count(*) FILTER (WHERE type = 'open') AS opens,
                             count(*) FILTER (WHERE type = 'click') AS clicks FROM events WHERE {w} GROUP BY ALL""",
    }


def run_duck(con, queries: dict[str, str], repeats: int) -> dict:
    results, best = {}, float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for name, sql in queries.items():
            if name != "rows_in_window":
                results[name] = con.execute(sql).fetchall()
        best = min(best, time.perf_counter() - t0)
    if "rows_in_window" in queries:
        results["rows_in_window"] = con.execute(queries["rows_in_window"]).fetchone()[0]
    return {"wall": best, "results": results}


def compare_totals(ours: dict[str, int], duck_rows: list) -> bool:
    """Every event type's total equal (plus machine opens when DuckDB gives them)."""
    theirs = {t: n for t, n, *_ in duck_rows}
    if duck_rows and len(duck_rows[0]) > 2:
        theirs["open_machine"] = sum(m for t, _, m in duck_rows if t == "open")
    names = (set(theirs) | set(ours)) - set(catalogue.DERIVED_TOTALS)
    diff = {k: (ours.get(k, 0), theirs.get(k, 0)) for k in names if ours.get(k, 0) != theirs.get(k, 0)}
    if diff:
        print(f"  totals differ (ours, DuckDB): {diff}")
    return not diff


def rel_err(estimate: int, exact: int) -> str:
    return "n/a" if not exact else f"{100 * (estimate - exact) / exact:+.2f}%"
