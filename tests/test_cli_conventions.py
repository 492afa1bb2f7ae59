"""The CLI's conventions: help and defaults on every option, --version, --json (JSON Lines only on stdout), progress
bars on stderr only for a terminal and never with --quiet."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from importlib.metadata import version

import pytest
from paths import ROOT, SAMPLES

from monitor_pipeline.cli import main
from monitor_pipeline.cli.app import _parser
from monitor_pipeline.cli.common import HelpFormatter, emit, json_only
from monitor_pipeline.cli.progress import bar, wanted


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor_pipeline.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        **kw,
    )


def _parsers(parser: argparse.ArgumentParser, name: str = "monitor-pipeline"):
    """Every parser of the command tree (subcommands and the alerts actions), with its command line."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_option_has_help_and_says_its_default():
    missing = []
    for name, parser in _parsers(_parser()):
        fmt = HelpFormatter(name)
        for a in parser._actions:
            if isinstance(a, argparse._HelpAction | argparse._VersionAction | argparse._SubParsersAction):
                continue
            if not a.help:
                missing.append(f"{name} {a.dest}: no help")
            # Options that take a value say what happens without them; flags and required options have no default.
            elif a.option_strings and a.nargs != 0 and not a.required and "default" not in fmt._get_help_string(a):
                missing.append(f"{name} {a.option_strings[0]}: no default")
    assert not missing, missing
    assert len(list(_parsers(_parser()))) >= 16  # every command and the alerts actions were walked


def test_help_shows_defaults_and_exit_codes():
    p = _cli("demo", "--help")
    assert p.returncode == 0 and "(default: 3)" in p.stdout and "(default: 100000)" in p.stdout
    top = _cli("--help").stdout
    assert "exit codes:" in top and "130" in top and "--version" in top and "--json" in top


def test_version_is_the_installed_package_version():
    p = _cli("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"monitor-pipeline {version('monitor-pipeline')}"


@pytest.mark.parametrize("argv", [["formats", "--json"], ["--json", "formats"], ["config", "--json"]])
def test_json_flag_anywhere_gives_json_lines_only(argv, capsys):
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(isinstance(json.loads(x), dict) for x in lines)


def test_text_commands_stay_text_without_json(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("azure_trace") and "->" in out


def test_json_only_moves_stray_prints_to_stderr(capsys):
    with json_only(True):
        print("a console alert line")
        emit({"sent": 1})
    captured = capsys.readouterr()
    assert captured.out == '{"sent": 1}\n' and captured.err == "a console alert line\n"
    with json_only(False):
        print("plain")
    assert capsys.readouterr().out == "plain\n"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_only_for_a_terminal_and_not_quiet():
    loud, quiet = argparse.Namespace(quiet=False), argparse.Namespace(quiet=True)
    assert wanted(loud, _Terminal()) and not wanted(loud, io.StringIO()) and not wanted(quiet, _Terminal())
    term = _Terminal()
    with bar(loud, "simulate", unit="day", stream=term) as progress:
        assert progress is not None
        progress(1, 2)
        progress(2, 2)
    assert "simulate" in term.getvalue() and "2/2" in term.getvalue()
    for args, stream in ((quiet, _Terminal()), (loud, io.StringIO())):
        with bar(args, "simulate", stream=stream) as progress:
            assert progress is None
        assert stream.getvalue() == ""


def _simulate_on_a_terminal(tmp_path, *extra: str) -> tuple[str, str]:
    """`simulate` with stderr on a pseudo-terminal and stdout on a pipe: (stdout, what the terminal got)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    # A new pseudo-terminal is 0 columns wide, where tqdm draws an empty bar: give it a real terminal's size.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        p = subprocess.run(
            [sys.executable, "-m", "monitor_pipeline.cli", "simulate", "--out", str(tmp_path), "--days", "3"]
            + ["--requests-per-day", "300", *extra],
            stdout=subprocess.PIPE,
            stderr=slave,
            cwd=ROOT,
            timeout=120,
            text=True,
        )
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert p.returncode == 0
    return p.stdout, b"".join(chunks).decode(errors="replace")


def test_simulate_draws_a_bar_on_a_terminal_and_keeps_stdout_json(tmp_path):
    out, terminal = _simulate_on_a_terminal(tmp_path / "loud")
    assert json.loads(out)["requests"] > 0  # stdout: the one JSON summary, no bar in it
    assert "simulate" in terminal and "3/3" in terminal
    out, terminal = _simulate_on_a_terminal(tmp_path / "quiet", "--quiet")
    assert json.loads(out)["requests"] > 0 and "3/3" not in terminal


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path):
    p = _cli("simulate", "--out", str(tmp_path), "--days", "3", "--requests-per-day", "300")
    assert p.returncode == 0 and json.loads(p.stdout)["days"] and "3/3" not in p.stderr and "\r" not in p.stderr


def test_simulate_reports_each_day(tmp_path):
    from monitor_pipeline.simulate import simulate

    calls: list[tuple[int, int]] = []
    simulate(tmp_path, days=2, requests_per_day=200, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 2), (2, 2)]


def test_ingest_reports_bytes_of_each_file(tmp_path):
    from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
    from monitor_pipeline.ingest.request import build_request

    files = [SAMPLES / "requests.jsonl", SAMPLES / "online.log"]
    calls: list[tuple[int, int]] = []
    DuckDBEngine(tmp_path / "w.duckdb").ingest(
        build_request([str(f) for f in files]), lambda d, t: calls.append((d, t))
    )
    total = sum(f.stat().st_size for f in files)
    assert len(calls) == 2 and calls[-1] == (total, total) and 0 < calls[0][0] < total


def test_sweep_reports_each_point():
    from monitor_pipeline.scalability.report import run_benchmark
    from monitor_pipeline.settings import ScalabilityConfig
    from tests.openai_server import openai_server

    calls: list[tuple[int, int]] = []
    with openai_server(lambda p: "a b c") as srv:
        cfg = ScalabilityConfig(
            target="openai",
            base_url=srv["base_url"],
            model="m",
            concurrency=[1, 2],
            requests_per_repetition=2,
            max_requests_per_level=8,
            reference_batch=1,
            warmup=1,
            min_repetitions=3,
            max_repetitions=3,
            max_seconds_per_point=1.0,
            threads=1,
        )
        run_benchmark(cfg, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 2), (2, 2)]
