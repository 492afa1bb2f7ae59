"""The /metrics scraper: live scrapes on loopback become a file the `prometheus` format ingests without quarantine."""

from __future__ import annotations

import base64
import gzip
import json
import re
import socket
import threading
import time
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import httpx
import pytest
from paths import ROOT

import monitor_pipeline.scrape as scrape_mod
from monitor_pipeline.cli import main
from monitor_pipeline.errors import InputError
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import build_request
from monitor_pipeline.scrape import rewrite_sample, safe_url, scrape

VLLM = (ROOT / "tests" / "data" / "real" / "vllm_metrics_v0.prom").read_text()
VLLM_SAMPLES = sum(1 for x in VLLM.splitlines() if x.strip() and not x.startswith("#"))
TEXT = "text/plain; version=0.0.4; charset=utf-8"
# A sample line as the pipeline's parser reads it, with a millisecond timestamp.
STAMPED = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*\{.*instance="([^"]*)".*\} \S+ (\d{13})$')


class MetricsServer:
    """A /metrics server on 127.0.0.1 that answers from `replies` in turn, then with `default`; records requests."""

    def __init__(self, default: tuple[int, str, str]) -> None:
        self.default, self.replies, self.requests = default, list[tuple[int, str, str]](), list[dict[str, str]]()
        self.delay_s = 0.0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append({"path": self.path, **dict(self.headers.items())})
                time.sleep(outer.delay_s)
                status, ctype, body = outer.replies.pop(0) if outer.replies else outer.default
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if "gzip" in self.headers.get("Accept-Encoding", ""):
                    data = gzip.compress(data)
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # keep pytest's output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.instance = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"http://{self.instance}/metrics"
        # A short poll interval: shutdown() waits for it, and the tests start many servers.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def vllm() -> Iterator[MetricsServer]:
    server = MetricsServer((200, TEXT, VLLM))
    yield server
    server.close()


def _no_overrun(notices: list[str]):
    """A notice sink that ignores the one about skipped slots: a loaded test host may overrun a 50 ms interval."""
    return lambda m: None if "skipping slots" in m else notices.append(m)


def _lines(path) -> list[str]:
    return path.read_text().splitlines()


def test_vllm_scrapes_are_stamped_labelled_and_ingest_cleanly(vllm, tmp_path):
    out = tmp_path / "deep" / "dir" / "vllm.prom"
    notices: list[str] = []
    summary = scrape(vllm.url, 0.05, 3, out, notice=_no_overrun(notices))
    lines = _lines(out)
    heads = [x for x in lines if x.startswith("# scrape ")]
    samples = [x for x in lines if not x.startswith("#")]
    assert len(heads) == 3 and all(
        re.fullmatch(rf"# scrape {re.escape(vllm.url)} at \S+Z status 200 samples {VLLM_SAMPLES}", h) for h in heads
    )
    assert not [x for x in lines if x.startswith(("# HELP", "# TYPE", "# EOF"))] and not notices
    assert len(samples) == 3 * VLLM_SAMPLES == summary.samples and (summary.ok, summary.failed) == (3, 0)
    assert all((m := STAMPED.match(x)) and m.group(1) == vllm.instance for x in samples), samples[:3]
    assert all("gzip" in r["Accept-Encoding"] and r["Accept"].startswith("text/plain") for r in vllm.requests)
    # A sample without labels gets a label set; one with labels keeps them in front of the instance.
    assert any(x.startswith(f'process_open_fds{{instance="{vllm.instance}"}} 49.0 ') for x in samples)
    assert any(x.startswith('python_gc_objects_collected_total{generation="0",instance="') for x in samples)

    db = tmp_path / "w.duckdb"
    result = DuckDBEngine(db).ingest(build_request([str(out)], "prometheus"))
    assert (result.clean, result.quarantined, result.skipped) == (3 * VLLM_SAMPLES, 0, 3), result.summary()
    con = duckdb.connect(str(db), read_only=True)
    rows, stamps, instances = con.execute(
        "SELECT count(*), count(DISTINCT timestamp), list(DISTINCT json_extract_string(labels, '$.instance')) "
        "FROM gauges"
    ).fetchone()
    assert (rows, stamps, instances) == (3 * VLLM_SAMPLES, 3, [vllm.instance])
    # The format sniffer takes the file for Prometheus with timestamps: no --at needed.
    assert DuckDBEngine(tmp_path / "auto.duckdb").ingest(build_request([str(out)], "auto")).quarantined == 0


def test_a_failed_scrape_is_one_comment_and_the_run_goes_on(vllm, tmp_path):
    vllm.replies.append((500, "text/plain", "engine restarting"))
    out = tmp_path / "m.prom"
    notices: list[str] = []
    summary = scrape(vllm.url, 0.05, 3, out, notice=_no_overrun(notices))
    heads = [x for x in _lines(out) if x.startswith("#")]
    assert (summary.ok, summary.failed) == (2, 1) and len(heads) == 3
    assert re.fullmatch(r"# scrape \S+ at \S+Z status 500 failed: HTTP 500 Internal Server Error", heads[0])
    assert "failed: HTTP 500" in notices[0] and "ok again after 1 failed" in notices[1] and len(notices) == 2
    assert sum(not x.startswith("#") for x in _lines(out)) == 2 * VLLM_SAMPLES


def test_refused_slow_and_bodies_that_are_not_metrics_fail(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/metrics"  # nothing listens once the socket closes
    html = MetricsServer((200, "text/html", "<html><body>login</body></html>"))
    json_ = MetricsServer((200, "text/plain", '{"error": "not here"}'))
    try:
        notices: list[str] = []
        summary = scrape([dead, html.url, json_.url], 0.05, 2, tmp_path / "m.prom", notice=notices.append)
    finally:
        html.close()
        json_.close()
    lines = _lines(tmp_path / "m.prom")
    assert (summary.ok, summary.failed) == (0, 6) and len(lines) == 6 and all(" failed: " in x for x in lines)
    assert "ConnectError" in lines[0] and "Content-Type text/html" in lines[1] and "is a Prometheus sample" in lines[2]
    assert sum(" failed: " in n for n in notices) == 6
    slow = MetricsServer((200, TEXT, "x 1\n"))
    slow.delay_s = 0.5
    try:
        summary = scrape(slow.url, 0.05, 1, tmp_path / "slow.prom", notice=notices.append, timeout_s=0.1)
    finally:
        slow.close()
    assert summary.failed == 1 and "failed: timed out (ReadTimeout)" in _lines(tmp_path / "slow.prom")[0]


def test_credentials_are_used_but_never_written_or_printed(vllm, tmp_path, capsys):
    url = vllm.url.replace("http://", "http://scraper:s3cretpw@") + "?token=tok123abc&collect[]=gpu"
    out = tmp_path / "m.prom"
    assert main(["collect", "--scrape", url, "--count", "1", "--interval", "0.05", "--out", str(out)]) == 0
    vllm.default = (503, "text/plain", "down")
    notices: list[str] = []
    scrape(url, 0.05, 1, out, notice=notices.append)
    printed = capsys.readouterr()
    for secret in ("s3cretpw", "scraper", "tok123abc"):
        assert secret not in out.read_text() + printed.out + printed.err + "".join(notices)
    assert f"# scrape http://{vllm.instance}/metrics?token=REDACTED&collect[]=gpu at " in out.read_text()
    assert vllm.requests[0]["Authorization"] == "Basic " + base64.b64encode(b"scraper:s3cretpw").decode()
    assert safe_url("https://u:p@h/m?api_key=k&x=1#frag") == "https://h/m?api_key=REDACTED&x=1"


def test_openmetrics_labels_escapes_and_timestamps():
    ms = 1_700_000_000_123
    om = [
        ("up 1", f'up{{instance="i:1"}} 1 {ms}'),
        ('x{a="}",b="x,y\\"z\\\\"} 2', f'x{{a="}}",b="x,y\\"z\\\\",instance="i:1"}} 2 {ms}'),
        ('x{instance="gpu-7:9400",a="1",} 3 1700000000000', 'x{instance="gpu-7:9400",a="1",} 3 1700000000000'),
        ("x{} +Inf", f'x{{instance="i:1"}} +Inf {ms}'),
        ("x_created 1.7e9", f'x_created{{instance="i:1"}} 1.7e9 {ms}'),
    ]
    for line, want in om:
        assert rewrite_sample(line, "i:1", ms) == want
    exemplar = 'h_bucket{le="0.1"} 8 1700000000.5 # {trace_id="t"} 0.04 1700000000.4'
    assert rewrite_sample(exemplar, "i:1", ms, openmetrics=True) == 'h_bucket{le="0.1",instance="i:1"} 8 1700000000500'
    for bad in ("x-y 1", "x", "x{a=1} 1", 'x{a="1" 1', "x 1 2 3", "x 1 1.5", "<html>"):
        assert rewrite_sample(bad, "i:1", ms) is None, bad


def test_openmetrics_body_drops_metadata_and_keeps_free_comments(tmp_path):
    body = (
        "# TYPE tgi_request counter\n# UNIT tgi_request requests\n# HELP tgi_request Requests.\n"
        "tgi_request_total 4\ntgi_request_created 1.7e9\n# a note\nnot a sample\n# EOF\n"
    )
    server = MetricsServer((200, "application/openmetrics-text; version=1.0.0; charset=utf-8", body))
    notices: list[str] = []
    try:
        summary = scrape(server.url, 0.05, 1, tmp_path / "m.prom", notice=notices.append)
    finally:
        server.close()
    lines = _lines(tmp_path / "m.prom")
    assert [x.split("{")[0].split(" ")[0] for x in lines] == [
        "#",
        "tgi_request_total",
        "tgi_request_created",
        "#",
        "not",
    ]
    assert lines[2] == f'tgi_request_created{{instance="{server.instance}"}} 1.7e9 ' + lines[1].split(" ")[-1]
    assert lines[3] == "# a note" and (summary.samples, summary.unparsed) == (2, 1) and "written as sent" in notices[0]


def test_schedule_is_drift_free_and_skips_overrun_slots(tmp_path, monkeypatch):
    clock = {"t": 0.0}
    starts: list[float] = []
    durations = iter([0.25, 0.25, 2.5, 0.25])

    def sleep(s: float) -> None:
        clock["t"] += s

    def fetch(client, url):
        starts.append(clock["t"])
        clock["t"] += next(durations)
        return httpx.Response(200, text="x 1\n", headers={"Content-Type": TEXT})

    fake = types.SimpleNamespace(monotonic=lambda: clock["t"], sleep=sleep, time_ns=lambda: 1_700_000_000 * 10**9)
    monkeypatch.setattr(scrape_mod, "time", fake)
    monkeypatch.setattr(scrape_mod, "_fetch", fetch)
    notices: list[str] = []
    summary = scrape("http://127.0.0.1:9/metrics", 1.0, 4, tmp_path / "m.prom", notice=notices.append)
    # Due at 0, 1, 2; the third takes 2.5 s, so slots 3 and 4 are skipped and the fourth starts at 5, on the grid.
    assert starts == [0.0, 1.0, 2.0, 5.0] and summary.missed == 2 and summary.ok == 4 and len(notices) == 1


def test_ctrl_c_ends_an_unbounded_run_cleanly(tmp_path, monkeypatch):
    calls = iter([None, None, KeyboardInterrupt()])

    def fetch(client, url):
        if isinstance(exc := next(calls), BaseException):
            raise exc
        return httpx.Response(200, text="x 1\n", headers={"Content-Type": TEXT})

    monkeypatch.setattr(scrape_mod, "_fetch", fetch)
    summary = scrape("127.0.0.1:9/metrics", 0.01, 0, tmp_path / "m.prom", notice=lambda m: None)
    assert (summary.ok, summary.failed, summary.samples) == (2, 0, 2)
    assert len(_lines(tmp_path / "m.prom")) == 4


def test_cli_scrapes_two_servers_and_prints_a_summary(vllm, tmp_path, capsys):
    other = MetricsServer((200, TEXT, "vllm:num_requests_running 2\n"))
    out = tmp_path / "m.prom"
    try:
        argv = ["collect", "--scrape", vllm.url, "--scrape", other.url, "--count", "2", "--interval", "0.05"]
        rc = main([*argv, "--out", str(out)])
    finally:
        other.close()
    summary = json.loads(capsys.readouterr().out)
    summary.pop("missed")  # slots a loaded test host skips
    assert rc == 0 and summary == {
        "out": str(out),
        "ok": 4,
        "failed": 0,
        "samples": 2 * VLLM_SAMPLES + 2,
        "unparsed": 0,
    }
    assert sum(f'instance="{other.instance}"' in x for x in _lines(out)) == 2


def test_cli_refuses_a_url_that_is_not_http(tmp_path, capsys):
    assert main(["collect", "--scrape", "ftp://u:pw@h/metrics", "--count", "1", "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "expected an http:// or https:// URL" in err and "pw" not in err
    with pytest.raises(InputError, match="--interval"):
        scrape("http://127.0.0.1:9/", 0, 1, tmp_path / "m")
