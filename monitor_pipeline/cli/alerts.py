"""`monitor-pipeline alerts`: show the outbox (pending, sent, dead-letter), deliver it once, send a test message."""

from __future__ import annotations

import argparse
import json

NAME = "alerts"
HELP = "list the alert outbox (pending/sent/dead), deliver it once, send a test alert, requeue dead letters"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """alerts list|send|test|requeue."""
    sub = parser.add_subparsers(dest="alerts_command", required=True)
    ls = sub.add_parser("list", help="outbox entries, oldest first")
    ls.add_argument("--state", choices=["pending", "sent", "dead", "all"], default="all")
    ls.add_argument("--limit", type=int, default=200)
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    sub.add_parser("send", help="turn new findings into alerts and run one delivery pass")
    t = sub.add_parser("test", help="send a test alert to every channel (through the outbox)")
    t.add_argument("--channel", action="append", help="only this channel (repeatable)")
    sub.add_parser("requeue", help="put dead-letter entries back to pending (after fixing the channel)")


def run(args: argparse.Namespace) -> int:
    """Run the chosen alerts subcommand."""
    import datetime as dt

    from monitor_pipeline.alerts.cycle import alerts_config, run_once, transports
    from monitor_pipeline.alerts.deliver import deliver, utcnow
    from monitor_pipeline.alerts.model import Alert
    from monitor_pipeline.alerts.outbox import Outbox
    from monitor_pipeline.errors import ConfigError
    from monitor_pipeline.settings import load_config

    cfg = load_config(args.config)
    acfg = alerts_config(cfg)
    outbox = Outbox.in_data_dir(cfg.data_path())
    if args.alerts_command == "list":
        entries = outbox.entries(None if args.state == "all" else args.state, limit=args.limit)
        for e in entries:
            s = e.summary()
            if args.json:
                print(json.dumps(s))
            else:
                err = f"  last error: {s['last_error']}" if s["last_error"] and e.status != "sent" else ""
                print(
                    f"{e.id:>5} {e.status:<8} {e.kind:<9} {e.severity:<8} {e.channel:<10} tries {e.attempts:<2} "
                    f"{s['at'][:16]}  {e.alert_key}: {e.alert.title}{err}"
                )
        if not args.json:
            print(f"outbox {outbox.path}: " + ", ".join(f"{k} {v}" for k, v in outbox.counts().items()))
        return 0
    if args.alerts_command == "send":
        alerts, report = run_once(cfg)
        print(json.dumps({"new_alerts": len(alerts), **report.as_dict(), "outbox": outbox.counts()}))
        return 0
    if args.alerts_command == "requeue":
        print(json.dumps({"requeued": outbox.requeue_dead(utcnow()), "outbox": outbox.counts()}))
        return 0
    channels = args.channel or list(acfg.channels)
    unknown = [c for c in channels if c not in acfg.channels]
    if unknown:
        raise ConfigError(f"unknown channel(s) {', '.join(unknown)}; alerts.yaml declares: {', '.join(acfg.channels)}")
    now = utcnow()
    test = Alert(
        key="test:monitor-pipeline",
        kind="firing",
        rule="test",
        entity="monitor-pipeline",
        severity="info",
        state="firing",
        title="Test alert from monitor-pipeline",
        at=now,
        source="cli",
        detail={"sent_at": now.isoformat()},
        window_start=now - dt.timedelta(minutes=5),
        window_end=now,
    )
    outbox.commit([(test, channels)], [], {}, now)
    ways = transports(acfg, cfg.data_path())
    report = deliver(outbox, ways, acfg.delivery)
    print(json.dumps({"channels": {c: ways[c].name for c in channels}, **report.as_dict()}))
    return 0 if not report.errors else 1
