"""Soak check of `make run` (issue 17 §3, issue 20 §3): does local mode hold a
day of demo traffic in bounded memory, and does an event show as fast as on a stage?

It starts `python -m infra.local` (the demo on) as a subprocess, then:

* every --sample-seconds (default 60) it samples the process' RSS and CPU
  (from /proc) and the console lines printed since the last sample;
* every --probe-seconds (default 15) it posts one uniquely identified event to
  campaign `soak-probe` of workspace `default` with the printed dev key, and
  measures POST → visible in the API: it polls the campaign's change stamp
  (what the page polls) and reads the live report until its `sent` total
  includes the probe. A probe not visible after --timeout seconds counts as
  a timeout (and as a latency of the timeout in the percentiles).

Each probe is tagged with the demo's phase at that moment (infra/local/traffic.py:
the flash sale starts a cycle every 20 minutes by targeting 2,000 profiles at
once, sends to them for the rest of the cycle, and its bounces spike in
minutes 8-10): `burst` (first 2 minutes of a cycle), `spike`, or `calm`. A
run of 30 minutes or more always covers a burst and a spike.

Targets (docs/performance.md, "Soak: make run for a day"): RSS growth under
300 MB after the first 5 minutes; latency p95 ≤ 3 s throughout.

    python bench/soak.py                    # 30 minutes, this checkout
    python bench/soak.py --minutes 1440     # a day
    python bench/soak.py --repo /tmp/main   # the same measurement of another checkout (a "before")

Not a test: it measures, prints a table per minute and a summary, and writes
them as JSON (--out). Ports default to LIVEREPORT_PORT/LIVEREPORT_WEB_PORT or 8100/8180.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = "soak-probe"
CYCLE_MINUTES = 20  # traffic.SPIKY.cycle_minutes
#: lines local mode prints on purpose (README); anything else is console noise
EXPECTED_PREFIXES = ("snapshot email written:", "alert email written:", "stopped")


def phase(at: float) -> str:
    minute = int(at // 60) % CYCLE_MINUTES
    return "burst" if minute < 2 else "spike" if 8 <= minute < 11 else "calm"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100); nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


# --------------------------------------------------------------------------- process figures (Linux /proc)
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


# --------------------------------------------------------------------------- the API
def call(url: str, key: str, body: dict | None = None, timeout: float = 30) -> dict:
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                     method="GET" if body is None else "POST",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass
class Probe:
    at: float
    phase: str
    latency: float | None  # None: timed out
    post_seconds: float


@dataclass
class Sample:
    minute: int
    rss_mb: float
    cpu_percent: float
    console_lines: int
    probes: int = 0
    p50: float = float("nan")
    max: float = float("nan")
    phases: str = ""
    load: float = float("nan")  # the machine's 1-minute load average (other work shares the CPU)


@dataclass
class Run:
    repo: str
    started: str
    minutes: float
    startup_seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)


class Stack:
    """`python -m infra.local` as a subprocess; its console read by a thread."""

    def __init__(self, repo: Path, port: int, web_port: int, outbox: Path, extra_env: dict[str, str]) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "LIVEREPORT_", "POWERTOOLS_")) and k not in ("TABLE_NAME", "STREAM_NAME")}
        env.update(LIVEREPORT_PORT=str(port), LIVEREPORT_WEB_PORT=str(web_port), LIVEREPORT_OUTBOX=str(outbox),
                   PYTHONUNBUFFERED="1", **extra_env)
        self.proc = subprocess.Popen([sys.executable, "-m", "infra.local"], cwd=repo, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.lines: list[str] = []
        self.fields: dict[str, str] = {}
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if not self.ready.is_set():
                key, _, value = line.partition(":")
                self.fields.setdefault(key.strip(), value.strip())
                if line.startswith("ready:"):
                    self.ready.set()
                continue
            self.lines.append(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Prober:
    def __init__(self, api: str, key: str, timeout: float) -> None:
        self.api, self.key, self.timeout = api, key, timeout
        self.run_id = uuid.uuid4().hex[:8]
        self.count: int | None = None
        self.n = 0

    def _sent(self) -> int:
        doc = call(f"{self.api}/v1/campaigns/{CAMPAIGN}/live?channel=email", self.key)
        return int(doc.get("totals", {}).get("sent", 0))

    def _stamp(self) -> str:
        return str(call(f"{self.api}/v1/campaigns/{CAMPAIGN}/stamp", self.key).get("stamp", ""))

    def probe(self) -> Probe:
        if self.count is None:
            self.count = self._sent()
        before, stamp = self.count, self._stamp()
        self.n += 1
        event = {"event_id": f"soak-{self.run_id}-{self.n}", "campaign_id": CAMPAIGN, "channel": "email",
                 "type": "sent", "profile_id": f"soak-{self.n}",
                 "timestamp": datetime.now(timezone.utc).isoformat()}
        started = time.time()
        accepted = call(f"{self.api}/v1/events", self.key, {"events": [event]})["accepted"]
        posted = time.time() - started
        if accepted != 1:
            raise RuntimeError(f"probe refused: {accepted}")
        deadline = started + self.timeout
        next_read = started + 1.0
        while time.time() < deadline:
            now_stamp = self._stamp()
            if now_stamp != stamp or time.time() >= next_read:
                stamp, next_read = now_stamp, time.time() + 1.0
                sent = self._sent()
                if sent >= before + 1:
                    self.count = sent
                    return Probe(started, phase(started), time.time() - started, posted)
            time.sleep(0.05)
        self.count = None  # read again next time
        return Probe(started, phase(started), None, posted)


def summarise(run: Run, timeout: float) -> dict:
    def latencies(probes: list[Probe]) -> list[float]:
        return [p.latency if p.latency is not None else timeout for p in probes]

    out: dict = {}
    for name, chosen in (("all", run.probes), *((ph, [p for p in run.probes if p.phase == ph])
                                                for ph in ("calm", "burst", "spike"))):
        values = latencies(chosen)
        out[name] = {"probes": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
                     "max": max(values) if values else float("nan"),
                     "timeouts": sum(p.latency is None for p in chosen)}
    after5 = [s for s in run.samples if s.minute >= 5]
    if after5:
        base = after5[0].rss_mb
        out["rss"] = {"at_5_min": base, "last": run.samples[-1].rss_mb, "peak": max(s.rss_mb for s in run.samples),
                      "growth_after_5_min": max(s.rss_mb for s in after5) - base}
    cpu = [s.cpu_percent for s in run.samples if s.minute >= 1]
    out["cpu_percent"] = {"mean": statistics.fmean(cpu) if cpu else float("nan"), "max": max(cpu, default=float("nan"))}
    out["console_noise_lines"] = len(run.noise)
    loads = [s.load for s in run.samples]
    out["load_average"] = {"mean": statistics.fmean(loads) if loads else float("nan"), "max": max(loads, default=float("nan"))}
    return out


def print_table(run: Run) -> None:
    print("| minute | RSS MB | CPU % | probes | latency p50 s | latency max s | phases | console lines | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in run.samples:
        print(f"| {s.minute} | {s.rss_mb:.0f} | {s.cpu_percent:.0f} | {s.probes} | {s.p50:.2f} | {s.max:.2f} | "
              f"{s.phases} | {s.console_lines} | {s.load:.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--repo", type=Path, default=ROOT, help="checkout whose infra.local to run (default: this one)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LIVEREPORT_PORT", "8100")))
    parser.add_argument("--web-port", type=int, default=int(os.environ.get("LIVEREPORT_WEB_PORT", "8180")))
    parser.add_argument("--sample-seconds", type=float, default=60)
    parser.add_argument("--probe-seconds", type=float, default=15)
    parser.add_argument("--timeout", type=float, default=120, help="a probe not visible after this long is a timeout")
    parser.add_argument("--out", type=Path, default=None, help="write samples, probes and summary as JSON")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment for the stack")
    args = parser.parse_args()

    extra = dict(item.split("=", 1) for item in args.env)
    outbox = Path(tempfile.mkdtemp(prefix="soak-outbox-"))
    run = Run(str(args.repo.resolve()), datetime.now(timezone.utc).isoformat(timespec="seconds"), args.minutes)
    begun = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the stack on `kill` too (finally below)
    stack = Stack(args.repo.resolve(), args.port, args.web_port, outbox, extra)
    try:
        if not stack.ready.wait(300):
            raise SystemExit(f"no `ready:` line within 300 s; console: {stack.lines[-20:]}")
        run.startup_seconds = time.monotonic() - begun
        api, key = stack.fields["ready"], stack.fields["dev key"].split()[0]
        pid = stack.proc.pid
        prober = Prober(api, key, args.timeout)
        t0 = time.monotonic()
        end = t0 + args.minutes * 60
        pending: list[Probe] = []
        lock = threading.Lock()
        stopping = threading.Event()

        def probe_loop() -> None:  # its own thread: a slow probe must not delay the samples
            next_probe = time.monotonic()
            while not stopping.is_set():
                try:
                    probe = prober.probe()
                except (urllib.error.URLError, OSError, RuntimeError, ValueError) as exc:
                    print(f"probe failed: {exc}", flush=True)
                    probe = Probe(time.time(), phase(time.time()), None, float("nan"))
                with lock:
                    run.probes.append(probe)
                    pending.append(probe)
                next_probe = max(next_probe + args.probe_seconds, time.monotonic())
                stopping.wait(next_probe - time.monotonic())

        threading.Thread(target=probe_loop, daemon=True, name="prober").start()
        last_cpu, last_at, last_lines, minute = cpu_seconds(pid), t0, 0, 0
        print(f"soak: {args.minutes:g} min of `python -m infra.local` in {run.repo} (ready in "
              f"{run.startup_seconds:.0f} s, RSS {rss_mb(pid):.0f} MB)", flush=True)
        while time.monotonic() < end and stack.proc.poll() is None:
            time.sleep(max(0.0, min(end, t0 + (minute + 1) * args.sample_seconds) - time.monotonic()))
            if stack.proc.poll() is not None:
                break
            minute += 1
            now, cpu = time.monotonic(), cpu_seconds(pid)
            lines = stack.lines[last_lines:]
            run.noise.extend(line for line in lines if not line.startswith(EXPECTED_PREFIXES))
            with lock:
                done, pending[:] = list(pending), []
            values = [p.latency if p.latency is not None else args.timeout for p in done]
            sample = Sample(minute, rss_mb(pid), 100 * (cpu - last_cpu) / (now - last_at), len(lines),
                            len(done), percentile(values, 50), max(values, default=float("nan")),
                            ",".join(sorted({p.phase for p in done})), load_average())
            run.samples.append(sample)
            print(f"min {minute:>4}: RSS {sample.rss_mb:7.0f} MB  CPU {sample.cpu_percent:5.1f} %  "
                  f"latency p50 {sample.p50:6.2f} s max {sample.max:6.2f} s ({sample.phases})  "
                  f"console +{sample.console_lines}  load {sample.load:.1f}", flush=True)
            last_cpu, last_at, last_lines = cpu, now, len(stack.lines)
        stopping.set()
        if stack.proc.poll() is not None:
            print(f"the stack exited early (code {stack.proc.returncode}); last lines: {stack.lines[-20:]}")
    finally:
        stack.stop()
    summary = summarise(run, args.timeout)
    print()
    print_table(run)
    print()
    print(json.dumps(summary, indent=2))
    if run.noise:
        print(f"console noise ({len(run.noise)} lines), first ones:")
        for line in run.noise[:5]:
            print(f"  {line[:200]}")
    if args.out:
        args.out.write_text(json.dumps({"run": asdict(run), "summary": summary}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
