"""`monitor-pipeline alerts`: show the outbox (pending, sent, dead-letter), deliver it once, send a test message."""

from __future__ import annotations

import argparse

from monitor_pipeline.cli.common import CHECK_FAILED, OK, add_subparser, emit

NAME = "alerts"
HELP = "list the alert outbox (pending/sent/dead), deliver it once, send a test alert, requeue dead letters"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """alerts list|send|test|requeue."""
    sub = parser.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    # Each action takes --json/--quiet too (add_subparser), so `alerts list --json` works as before.
    ls = add_subparser(sub, "list", help="outbox entries, oldest first (a table; JSON lines with --json)")
    ls.add_argument("--state", choices=["pending", "sent", "dead", "all"], default="all", help="entries in this state")
    ls.add_argument("--limit", type=int, default=200, help="at most this many entries")
    add_subparser(sub, "send", help="turn new findings into alerts and run one delivery pass")
    t = add_subparser(sub, "test", help="send a test alert to every channel (through the outbox)")
    t.add_argument("--channel", action="append", help="only this channel (repeatable; default: every channel)")
    add_subparser(sub, "requeue", help="put dead-letter entries back to pending (after fixing the channel)")


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
                emit(s)
            else:
                err = f"  last error: {s['last_error']}" if s["last_error"] and e.status != "sent" else ""
                print(
                    f"{e.id:>5} {e.status:<8} {e.kind:<9} {e.severity:<8} {e.channel:<10} tries {e.attempts:<2} "
                    f"{s['at'][:16]}  {e.alert_key}: {e.alert.title}{err}"
                )
        if not args.json:
            print(f"outbox {outbox.path}: " + ", ".join(f"{k} {v}" for k, v in outbox.counts().items()))
        return OK
    if args.alerts_command == "send":
        alerts, report = run_once(cfg)
        assert report is not None  # run_once delivers (send=True) unless told not to
        emit({"new_alerts": len(alerts), **report.as_dict(), "outbox": outbox.counts()})
        return OK
    if args.alerts_command == "requeue":
        emit({"requeued": outbox.requeue_dead(utcnow()), "outbox": outbox.counts()})
        return OK
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
    emit({"channels": {c: ways[c].name for c in channels}, **report.as_dict()})
    return OK if not report.errors else CHECK_FAILED
