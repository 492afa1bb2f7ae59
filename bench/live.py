"""Live monitoring end to end (issue 17): seconds from each injected incident's onset to its first Slack message, false
alerts, and the CPU the live loop uses, with the pipeline under the real Dagster daemon.

    python bench/live.py [--minutes 20] [--rate 100] [--profile flat|diurnal] [--speed 1] [--incident KIND@MIN[+LEN]]
                         [--history-days N] [--train] [--workdir DIR] [--keep] [--seed 0]

In a work dir (a temporary one unless --workdir; removed at the end unless --keep):

1. A pipeline YAML whose three sources (gateway requests, GPU samples, vLLM scrapes) are the live simulator's files in
   <workdir>/live, marked `live: true`; the alerting defaults (configs/alerts.yaml: cooldowns, routing); both Slack
   channels' webhooks (SLACK_WEBHOOK_URL, SLACK_SECURITY_WEBHOOK_URL) pointed at a loopback Slack stub
   (tests/slack_server.py); a DAGSTER_HOME as `monitor-pipeline ui` makes it (run queue, `warehouse` pool).
2. History for the anomaly scores: quiet traffic with the same generator, --rate and --profile as the live run
   (`simulate_live`, in chunks, into <workdir>/hist) up to now, ingested day by day with `monitor-pipeline ingest
   --source ... --partition ...`. Without champions the live loop scores with the seasonal-naive fallback, which
   needs two days before today (one to forecast from, one whose residuals calibrate the scores): the default history
   is those and today so far. With --train it is what forecast.scoring.scoring_bounds asks (2 + calibration_days days
   and 4 hours before today), and `forecast_champions` then trains and registers champions for today (its cost does
   not grow with the rate: it reads 5-minute windows). The live steps' progress markers (`live_state`) start at the
   history's end, as if the loop had run all along: the first micro-batch does not re-alert the history.
   --profile flat (the default) keeps --rate at every hour, so the figure is at that rate whenever it runs, and has no
   weekday/weekend step (the forecasters' season is a day: a Monday compared with a Sunday is an anomaly for its first
   hour); --profile diurnal is the batch's cycle with --rate an ordinary weekday's mean, the live rate the hour's.
3. `dagster dev` (the command `monitor-pipeline ui` runs) with MONITOR_CONFIG set, and the stub; once the code location
   has loaded, the gap since the history's end is written at once into <workdir>/live, then the live simulator
   appends --minutes of traffic there at --speed, one incident of each kind at spaced minutes (--incident to change).
4. Every Slack message is attributed to the incident whose affected series or entity (the simulator's incidents.json)
   its alert key names (after the onset; of several, the one that began last); a follow-up of an attributed key is
   that incident's; the rest are false alerts. Messages after the live run ended are not counted (the traffic stops;
   a drop would be a true anomaly). The loop's findings (<data_dir>/findings.db) are attributed the same way, a
   correlated anomaly event by its lead series or any member: when the loop first saw each incident, alert or not.
5. The CPU of the whole `dagster dev` process tree (webserver, daemon, code server, run workers) over the live phase,
   sampled every 0.5 s with what parents reaped from finished run workers; the live_job runs from the Dagster instance.

Prints progress, one line per incident, then one JSON object as its last line: `latency_s` (incident id -> seconds
from onset to its first message, null if missed), `median_s`, `worst_s` (a miss counts as never), `false_alerts` and
their texts, `detect_s` (onset to the first finding about it) and `detected_as_member_only` (seen only inside another
incident's alert), `cpu_share` (CPU seconds over wall seconds of the live phase: 1.0 is one core) and `cpu` (per
process role), `micro_batches` (count, durations, queue waits, overlaps), `live`, `history`, `goals` and `met`.
Goals (issue 17): median <= 5 min, worst <= 8 min, no false alert, the live loop <= 25 % of one core at 100
requests/s. The headline figure is at --speed 1; at a higher speed the data's 5-minute windows close faster than the
loop's 30-second and 60-second cadences assume.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _live_history import build_history  # noqa: E402
from _live_measure import (  # noqa: E402
    TreeCPU,
    attribute,
    findings,
    latencies,
    micro_batches,
    names,
    parse_message,
    summary_stats,
)
from _live_stack import (  # noqa: E402
    OVERLAY_ENV,
    free_port,
    history_start,
    preset_live_state,
    ready,
    run_records,
    start_dagster,
    train,
    write_config,
)

from monitor_pipeline.simulate.live import parse_incident, simulate_live  # noqa: E402
from tests.slack_server import SlackServer  # noqa: E402

GOALS = {"median_s": 300, "worst_s": 480, "false_alerts": 0, "cpu_share": 0.25}
# One of each kind, (kind, minute, minutes it lasts) of a 20-minute run, scaled to --minutes: the incidents before the
# traffic spike move disjoint series (one model's latency and its engine, the error rate, one user's security findings,
# one GPU's memory) and the spike, which moves every series, begins once they ended, so that each alert names one
# incident. Anomaly events that start within forecasting.correlate_windows (15 minutes) of each other are still one
# alert, led by the largest score: an incident whose series join an earlier one's event gets a message of its own only
# when it takes the lead (`detect_s` and `detected_as_member_only` show whether the loop saw it).
DEFAULT_INCIDENTS = (
    ("latency_regression", 1, 7),
    ("error_burst", 3, 6),
    ("abusive_user", 5, 6),
    ("gpu_memory_leak", 7, 7),
    ("traffic_spike", 14, 6),
)
HUGE_SPEED = 1e9


class _Stop(Exception):
    """SIGTERM while setting up: clean up as on Ctrl-C."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop(signal.Signals(signum).name)


def say(msg: str) -> None:
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {msg}", flush=True)


def default_incidents(minutes: float) -> list[str]:
    k = minutes / 20
    return [f"{kind}@{round(at * k, 1):g}+{round(length * k, 1):g}" for kind, at, length in DEFAULT_INCIDENTS]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=20.0, help="live traffic, simulated minutes")
    ap.add_argument("--rate", type=float, default=100.0, help="requests/s (diurnal: an ordinary weekday's mean)")
    ap.add_argument("--profile", choices=["flat", "diurnal"], default="flat", help="the traffic's shape (see above)")
    ap.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second of the live run")
    ap.add_argument(
        "--incident", action="append", default=[], metavar="KIND@MIN[+LEN]", help="default: one of each (see above)"
    )
    ap.add_argument("--history-days", type=int, help="days of history before today (default: what scoring needs)")
    ap.add_argument("--train", action="store_true", help="train and register champions on the history first")
    ap.add_argument("--interval-s", type=int, help="live.interval_s (default: the pipeline's, 30)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", help="work dir (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--ready-timeout", type=float, default=300.0, help="seconds to wait for dagster dev")
    args = ap.parse_args(argv)
    specs = [parse_incident(s) for s in (args.incident or default_incidents(args.minutes))]

    work = Path(args.workdir).resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="bench-live-"))
    if work.exists() and any(work.iterdir()):
        ap.error(f"--workdir {work}: not empty")
    work.mkdir(parents=True, exist_ok=True)
    for k in OVERLAY_ENV:
        os.environ.pop(k, None)
    config = write_config(work, args.interval_s)
    os.environ["MONITOR_CONFIG"] = str(config)  # before anything loads the config (Dagster's partitions do at import)
    from monitor_pipeline.demo import dagster_home
    from monitor_pipeline.settings import load_config
    from monitor_pipeline.ui import stop

    cfg = load_config()
    os.environ["DAGSTER_HOME"] = str(work / "dagster")
    home = dagster_home(cfg)
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    stub = SlackServer()
    received: list[dict] = []

    class Stamped(list):
        def append(self, body: dict) -> None:  # the stub appends each answered-200 body: note when
            received.append({"at": time.time(), "body": body})
            super().append(body)

    stub.delivered = Stamped()
    proc: subprocess.Popen | None = None
    cpu: TreeCPU | None = None
    out: dict[str, Any] = {}
    try:
        # --- history ---
        now = time.time()
        t_hist = float(math.floor(now - 60 * args.minutes * max(0.0, 1 - 1 / args.speed)))
        today = dt.datetime.fromtimestamp(t_hist, dt.UTC).date()
        h0 = history_start(today, args.history_days, args.train)
        say(
            f"history: {(t_hist - h0) / 86400:.2f} days at {args.rate:g} requests/s ({args.profile}) from "
            f"{dt.datetime.fromtimestamp(h0, dt.UTC):%Y-%m-%d %H:%M} to {dt.datetime.fromtimestamp(t_hist, dt.UTC):%H:%M}"
        )
        history = build_history(config, work / "hist", args.rate, h0, t_hist, args.seed, args.profile, say)
        say(f"history: {history['requests']:,} requests, {history['bytes'] / 2**30:.1f} GiB in {history['seconds']} s")
        if args.train:
            history["train"] = train(today.isoformat())
            say(f"champions trained in {history['train']['seconds']} s: {history['train']}")
        preset_live_state(config, dt.datetime.fromtimestamp(t_hist, dt.UTC))
        shutil.rmtree(work / "hist")  # ingested: the disk it took is better free
        # --- the pipeline ---
        stub.start()
        port = free_port()
        t = time.monotonic()
        proc = start_dagster(work, config, port, stub.url)
        cpu = TreeCPU(proc.pid).start()
        deadline = time.monotonic() + args.ready_timeout
        while not ready(port):
            if proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited: {(work / 'dagster.log').read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"dagster dev not ready in {args.ready_timeout:g} s")
            time.sleep(2)
        # The webhook's path is its secret: even a stub's is not printed, only where it listens.
        stub_at = urllib.parse.urlsplit(stub.url).netloc
        say(f"dagster dev ready on port {port} in {time.monotonic() - t:.0f} s; Slack stub on {stub_at}")
        # --- the live run ---
        live = work / "live"
        a = cpu.snapshot()
        launch = time.time()
        start = float(math.floor(launch - 60 * args.minutes * max(0.0, 1 - 1 / args.speed))) - 1
        gap = {"seconds": 0.0, "requests": 0}
        if start > t_hist:
            g = simulate_live(
                live,
                args.rate,
                (start - t_hist) / 60,
                speed=HUGE_SPEED,
                seed=args.seed * 100_003 + 99_001,
                start=dt.datetime.fromtimestamp(t_hist, dt.UTC),
                profile=args.profile,
            )
            gap = {"seconds": round(start - t_hist), "requests": g["requests"]}
        say(f"gap since the history: {gap['seconds']} s, {gap['requests']:,} requests written at once")
        marks: dict[str, float] = {}
        signal.signal(signal.SIGTERM, previous)  # the live simulator's own handlers stop it cleanly
        summary = simulate_live(
            live,
            args.rate,
            args.minutes,
            speed=args.speed,
            incidents=specs,
            seed=args.seed * 100_003 + 99_002,
            start=dt.datetime.fromtimestamp(start, dt.UTC),
            profile=args.profile,
            notice=lambda msg: (say(msg), marks.setdefault("wall0", time.time())),
        )
        signal.signal(signal.SIGTERM, _raise_stop)
        b = cpu.snapshot()
        cpu.stop()
        say(f"live run done: {summary['requests']:,} requests, interrupted={summary['interrupted']}")
        out = report(args, work, home, summary, marks["wall0"], a, b, cpu, received, history, gap)
    except (KeyboardInterrupt, _Stop) as why:
        say(f"stopping ({why or 'SIGINT'})")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if cpu is not None:
            cpu.stop()
        if proc is not None:
            stop([proc], grace_s=60)
        stub.stop()
        signal.signal(signal.SIGTERM, previous)
    if out:
        out["micro_batches"] = micro_batches(
            [r for r in run_records(home) if r.dagster_run.job_name == "live_job"], out.pop("_a"), out.pop("_b")
        )
        out["other_runs"] = out.pop("_others")(run_records(home))
        out["met"]["no_overlap"] = not out["micro_batches"]["overlapping"]
        out["met"]["all"] = all(v for k, v in out["met"].items() if k != "all")
        if args.keep or args.workdir:
            out["workdir"] = str(work)
        print(json.dumps(out))
    if not (args.keep or args.workdir):
        shutil.rmtree(work, ignore_errors=True)
    return 0 if out else 1


def _by_rule(found: list[dict]) -> dict[str, int]:
    """Distinct alert keys per finding rule."""
    keys: dict[str, set[str]] = {}
    for f in found:
        keys.setdefault(f["rule"], set()).add(f["key"])
    return {rule: len(v) for rule, v in sorted(keys.items())}


def report(
    args: argparse.Namespace,
    work: Path,
    home: Path,
    summary: dict,
    wall0: float,
    a: dict,
    b: dict,
    cpu: TreeCPU,
    received: list[dict],
    history: dict,
    gap: dict,
) -> dict[str, Any]:
    """Per-incident lines on stdout; the figures (the caller adds the run records once dagster dev has stopped)."""
    plan_start = dt.datetime.fromisoformat(summary["start"]).timestamp()
    incidents = json.loads((work / "live" / "incidents.json").read_text())
    for inc in incidents:
        onset = dt.datetime.fromisoformat(inc["start"]).timestamp()
        inc["onset_wall"] = wall0 + (onset - plan_start) / args.speed
    messages = [parse_message(r["body"], r["at"]) for r in received]
    with open(work / "messages.jsonl", "w") as f:  # for a look afterwards (--keep)
        for r, m in zip(received, messages, strict=True):
            f.write(json.dumps({**m, "since_live_start_s": round(r["at"] - wall0, 1), "body": r["body"]}) + "\n")
    (work / "incidents.json").write_text(json.dumps(incidents, indent=1))
    counted = [m for m in messages if m["at"] <= b["at"]]
    # A message naming several incidents' series (a correlated event's lead and the series that moved with it) told
    # the on-call engineer about each of them.
    done = attribute(counted, incidents, every=True)
    latency = latencies(done["per_incident"], incidents)
    median, worst = summary_stats(latency)
    # Detection by the loop, before alerting: the first finding about the incident, as the lead series or a member of a
    # correlated event (events starting within forecasting.correlate_windows of each other are one alert).
    found = [f for f in findings(work / "data" / "findings.db") if a["at"] <= f["at"] <= b["at"]]
    detected = attribute(found, incidents, every=True)
    detect = latencies(detected["per_incident"], incidents)
    for inc in incidents:
        first = sorted(done["per_incident"][inc["id"]], key=lambda m: m["at"])
        what = f"{latency[inc['id']]:.0f} s: {first[0]['text']} [{first[0]['key']}]" if first else "missed"
        seen = sorted(detected["per_incident"][inc["id"]], key=lambda m: m["at"])
        how = ""
        if seen:
            lead = seen[0]["key"]
            how = (
                f"{detect[inc['id']]:.0f} s [{lead}{'' if names({**seen[0], 'members': []}, inc) else ', as a member'}]"
            )
        print(
            f"{inc['id']} {inc['kind']:<20} onset {inc['start'][11:19]}  first finding after {how or 'none'};  "
            f"first message after {what}",
            flush=True,
        )
    for m in done["false"]:
        print(f"false alert at +{m['at'] - wall0:.0f} s: {m['text']} [{m['key']}]", flush=True)
    phase = cpu.between(a, b)
    live_s = summary["wall_seconds"]
    false_texts = [f"{m['text']} [{m['key']}]" for m in done["false"]]

    def others(records: list[Any]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in records:
            if r.dagster_run.job_name != "live_job" and r.create_timestamp.timestamp() >= a["at"]:
                counts[r.dagster_run.job_name] = counts.get(r.dagster_run.job_name, 0) + 1
        return counts

    out: dict[str, Any] = {
        "latency_s": latency,
        "incidents": {i["id"]: i["kind"] for i in incidents},
        "median_s": median,
        "worst_s": worst,
        "false_alerts": len(done["false"]),
        "false_alert_texts": false_texts,
        "messages": len(counted),
        "messages_after_end": len(messages) - len(counted),
        "per_incident_messages": {k: len(v) for k, v in done["per_incident"].items()},
        "detect_s": detect,  # onset -> the first finding naming the incident (lead or correlated member)
        "detected_as_member_only": [
            i["id"]
            for i in incidents
            if detected["per_incident"][i["id"]]
            and not any(names({**f, "members": []}, i) for f in detected["per_incident"][i["id"]])
        ],
        "false_findings_by_rule": _by_rule(detected["false"]),
        "cpu_share": phase["share_of_one_core"],
        "cpu": phase,
        "live": {
            "rate": args.rate,
            "profile": args.profile,
            "minutes": args.minutes,
            "speed": args.speed,
            "requests": summary["requests"],
            "requests_per_s": round(summary["requests"] / (60 * args.minutes), 1),
            "start": summary["start"],
            "interrupted": summary["interrupted"],
            "lag_s": round(wall0 - plan_start, 1) if args.speed == 1 else None,  # lines written after their time
            "live_run_wall_s": live_s,
            # The machine's load while the loop ran (another process's CPU slows the loop's runs, not its CPU seconds).
            "loadavg_1_5_15_at_end": [round(x, 2) for x in os.getloadavg()],
            "cores": os.cpu_count(),
            "gap_fill": gap,
        },
        "history": {k: v for k, v in history.items() if k != "partitions"},
        "goals": GOALS,
        "_a": a["at"],
        "_b": b["at"],
        "_others": others,
    }
    out["met"] = {
        "median_s": median is not None and median <= GOALS["median_s"],
        "worst_s": worst is not None and worst <= GOALS["worst_s"],
        "false_alerts": len(done["false"]) <= GOALS["false_alerts"],
        "cpu_share": phase["share_of_one_core"] is not None and phase["share_of_one_core"] <= GOALS["cpu_share"],
    }
    return out


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
