"""The two baselines every point of the cost curve is compared with, on the same events.

Owns:
- `naive_cost`: one UpdateItem ADD per event on its minute item (the type's
  counter, its dimension counters, the TTL), priced in memory by the same size
  rules as the Recorder: what a design without ledger, stream or folds pays;
- `previous_design`: the write path of commit 58732dc (stream + aggregator with
  transactions, partition key = request id), run by *its own* chalicelib in a
  subprocess (`python baselines.py --worker`): `git archive` extracts its
  `functions/` into bench/out/, the worker puts it first on sys.path and replays
  the same scenarios through the same harness.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import _common as C  # noqa: E402

PREVIOUS = "58732dc"
OUT = C.ROOT / "bench" / "out"


def naive_cost(events: list[dict]) -> dict:
    """One UpdateItem ADD per event on its minute item, priced like the Recorder (size before/after)."""
    from chalicelib import catalogue, tables
    from chalicelib.aggregate import dim_attr
    from chalicelib.events import validate_batch
    accepted = []
    for i in range(0, len(events), 5000):
        chunk = events[i:i + 5000]
        latest = max(datetime.fromisoformat(e["timestamp"]).timestamp() for e in chunk)
        ok, rejected = validate_batch(chunk, datetime.fromtimestamp(latest + 1, tz=timezone.utc))
        assert not rejected, rejected[:3]
        accepted.extend(e for _, e in ok)
    items: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    total = 0
    by_units: dict[int, int] = defaultdict(int)
    for ev in accepted:
        minute = datetime.fromtimestamp(int(ev.timestamp.timestamp()) // 60 * 60, tz=timezone.utc)
        pk = tables.counter_pk("bench", ev.campaign_id, ev.channel)
        sk = tables.counter_sk(tables.MINUTE, minute.strftime("%Y%m%d%H%M"), ev.execution_id or tables.NO_EXECUTION)
        attrs = [ev.type] + (["open_machine"] if ev.type == "open" and ev.machine else [])
        for dim in catalogue.DIMENSIONS_BY_TYPE[ev.type]:
            if ev.channel in dim.channels:
                value = getattr(ev, dim.field) or dim.default
                if value is not None:
                    attrs.append(dim_attr(dim.name, ev.type, value))
        item = items.setdefault((pk, sk), {"pk": {"S": pk}, "sk": {"S": sk}})
        before = C.item_size(item) if len(item) > 2 else 0
        for a in attrs:
            item[a] = {"N": str(int(item.get(a, {"N": "0"})["N"]) + 1)}
        item[tables.TTL_ATTRIBUTE] = {"N": str(int(minute.timestamp()) + 26 * 3600)}
        units = C.wru(before, C.item_size(item), False)
        by_units[units] += 1
        total += units
    n = len(accepted)
    return {"events": n, "wru": total / n, "units_histogram": dict(by_units)}


def previous_functions(commit: str = PREVIOUS) -> Path:
    """`functions/` of `commit`, extracted once into bench/out/prev-<commit>/ (reused afterwards)."""
    target = OUT / f"prev-{commit}"
    if not (target / "functions" / "chalicelib" / "services.py").exists():
        try:
            data = subprocess.run(["git", "-C", str(C.ROOT), "archive", commit, "functions"],
                                  check=True, capture_output=True).stdout
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"cannot read commit {commit} from git ({exc.stderr.decode().strip()}): "
                               "the previous design's column needs the repository's history "
                               "(a full clone, not --depth 1)") from None
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(target)
    return target / "functions"


def start_previous_design(scenarios: list[Any], commit: str = PREVIOUS) -> tuple[subprocess.Popen, Path]:
    """Start the worker on `scenarios` (it runs while this process measures the new design)."""
    functions = previous_functions(commit)
    OUT.mkdir(parents=True, exist_ok=True)
    src, dst = OUT / f"scenarios-{os.getpid()}.json", OUT / f"previous-{os.getpid()}.json"
    src.write_text(json.dumps([s.to_json() for s in scenarios]))
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", str(functions),
                             str(src), str(dst)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, dst


def finish_previous_design(proc: subprocess.Popen, dst: Path) -> dict[str, dict]:
    log, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"previous design's worker failed:\n{log[-3000:]}")
    results = json.loads(dst.read_text())
    dst.unlink()
    dst.with_name(dst.name.replace("previous-", "scenarios-")).unlink(missing_ok=True)
    return results


def _worker(functions: str, src: str, dst: str) -> None:
    sys.path.insert(0, functions)  # before any chalicelib import: this process runs the previous design
    C.speed_up_moto()
    import chalicelib
    assert Path(chalicelib.__file__).resolve().is_relative_to(Path(functions).resolve()), chalicelib.__file__
    import harness
    results = {}
    for data in json.loads(Path(src).read_text()):
        sc = harness.Scenario.from_json(data)
        results[sc.key] = harness.measure(sc)
        print(f"previous design: {sc.key} done", flush=True)
    Path(dst).write_text(json.dumps(results, default=str))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        _worker(*sys.argv[2:])
    else:
        sys.exit("usage: baselines.py --worker <functions dir> <scenarios.json> <results.json> (bench/ingest.py runs it)")
