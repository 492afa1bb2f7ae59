"""Scrape live Prometheus `/metrics` endpoints (vLLM, SGLang, TGI, DCGM exporter) into a file for `--format prometheus`.

Every scrape is appended as one block: a `# scrape <url> at <time> status <code> samples <n>` comment, then each sample
with an `instance="host:port"` label (as Prometheus adds on scrape) and the scrape time in milliseconds when the sample
carries no timestamp of its own. `# HELP`/`# TYPE`/`# UNIT`/`# EOF` lines are dropped: they repeat on every scrape.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from monitor_pipeline.errors import InputError
from monitor_pipeline.ingest.formats.prometheus import parse_labels

# Prefer the classic text format: OpenMetrics adds `_created` series and exemplars; both are read when a server sends
# them anyway. Never protobuf, which the pipeline cannot read.
ACCEPT = "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1"
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_INT = re.compile(r"-?\d+")
_METADATA = re.compile(r"#\s*(HELP|TYPE|UNIT|EOF)\b")
# Query parameters whose value is a credential; their values never reach the file or the terminal.
_SECRET_PARAM = re.compile(r"token|key|secret|pass|pwd|auth|sig|cred|session|jwt|bearer|code|access", re.I)


@dataclass
class ScrapeSummary:
    """What a run of `scrape` wrote."""

    out: str
    ok: int = 0
    failed: int = 0
    samples: int = 0
    unparsed: int = 0  # lines written unchanged because they are not samples: the ingest quarantines them
    missed: int = 0  # scrape slots skipped because a round of scrapes took longer than the interval

    def as_dict(self) -> dict[str, int | str]:
        """The summary as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Target:
    """One endpoint: the URL requested, the URL shown (no credentials) and its `instance` label."""

    url: str
    shown: str
    instance: str


def safe_url(url: str) -> str:
    """`url` without user:password@, fragment or the values of credential-like query parameters."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    # Rewrite only the credential values, so the rest of the query (`collect[]=...`) reads as the user wrote it.
    params = [p.partition("=") for p in parts.query.split("&")] if parts.query else []
    query = "&".join(k + eq + ("REDACTED" if v and _SECRET_PARAM.search(unquote(k)) else v) for k, eq, v in params)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def target(url: str) -> Target:
    """A Target for `url` (http:// is assumed when no scheme is given); InputError when it is not an HTTP URL."""
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"--scrape {safe_url(url)}: expected an http:// or https:// URL such as http://host:8000/metrics"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InputError(f"--scrape {safe_url(url)}: the port is not a number from 0 to 65535") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return Target(url=url, shown=safe_url(url), instance=f"{host}:{port}")


def _close_brace(line: str, start: int) -> int:
    """Index of the `}` closing the label set opened at `start` (quotes and escapes respected), or -1."""
    quoted, i = False, start + 1
    while i < len(line):
        c = line[i]
        if quoted and c == "\\":
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "}" and not quoted:
            return i
        i += 1
    return -1


def rewrite_sample(line: str, instance: str, scrape_ms: int, openmetrics: bool = False) -> str | None:
    """`line` with `instance` added when it has none and a millisecond timestamp (`scrape_ms` when it has none);
    None when it is not a sample line. OpenMetrics timestamps (seconds) become milliseconds; exemplars are cut."""
    line = line.strip()
    m = _NAME.match(line)
    if not m:
        return None
    name, pos = m.group(0), m.end()
    inner = ""
    if line[pos:].lstrip(" \t").startswith("{"):
        pos = line.index("{", pos)
        end = _close_brace(line, pos)
        if end < 0:
            return None
        inner, pos = line[pos + 1 : end], end + 1
    if not line[pos : pos + 1].isspace():  # `name-x 1`, `name{a="1"}1`: not a sample
        return None
    labels = parse_labels(inner)
    if labels is None:
        return None
    # An OpenMetrics exemplar (`# {trace_id="..."} 0.5 1.7e9`) follows the value; neither value nor timestamp holds
    # a '#', and the pipeline reads no exemplars.
    rest = line[pos:].split("#", 1)[0].split()
    if len(rest) not in (1, 2):
        return None
    value = rest[0]
    if len(rest) == 1:
        ts = str(scrape_ms)
    elif openmetrics:
        try:
            seconds = float(rest[1])
        except ValueError:
            return None
        if not math.isfinite(seconds):
            return None
        ts = str(round(seconds * 1000))
    elif _INT.fullmatch(rest[1]):
        ts = rest[1]
    else:
        return None
    if "instance" not in labels:
        inner = inner.rstrip().rstrip(",").rstrip()
        inner = f'{inner},instance="{instance}"' if inner else f'instance="{instance}"'
    return f"{name}{{{inner}}} {value} {ts}" if inner else f"{name} {value} {ts}"


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _one_line(text: str, t: Target) -> str:
    """An error message fit for a comment line: one line, short, and without the URL's credentials."""
    parts = urlsplit(t.url)
    text = text.replace(t.url, t.shown).replace(parts.netloc, parts.netloc.rpartition("@")[2])
    if parts.password and len(parts.password) >= 4:  # a shorter one would blank out ordinary words
        text = text.replace(parts.password, "***")
    return " ".join(text.split())[:200] or "no detail"


def _fetch(client: httpx.Client, url: str) -> httpx.Response:
    """GET `url` (a seam for tests of the schedule)."""
    return client.get(url)


def _exposition(resp: httpx.Response, t: Target, scrape_ms: int) -> tuple[list[str], int, int, str | None]:
    """(lines to write, samples, unparsed lines, why the scrape failed or None) for one response."""
    if not resp.is_success:
        return [], 0, 0, f"HTTP {resp.status_code} {resp.reason_phrase}".strip()
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype not in ("text/plain", "application/openmetrics-text"):
        return [], 0, 0, f"Content-Type {ctype} is not Prometheus text exposition format"
    try:
        body = resp.content.decode("utf-8")
    except UnicodeDecodeError:
        return [], 0, 0, "the body is not UTF-8 text"
    raw = body.splitlines()
    openmetrics = ctype == "application/openmetrics-text" or (not ctype and any(x.strip() == "# EOF" for x in raw[-3:]))
    lines, samples, unparsed = [], 0, 0
    for text in raw:
        stripped = text.strip()
        if not stripped or _METADATA.match(stripped):
            continue
        if stripped.startswith("#"):
            lines.append(stripped)  # a free comment: kept, the ingest counts it as skipped
            continue
        out = rewrite_sample(stripped, t.instance, scrape_ms, openmetrics)
        if out is None:
            lines.append(stripped)  # kept as sent, so the ingest quarantines it with its reason
            unparsed += 1
        else:
            lines.append(out)
            samples += 1
    if unparsed and not samples:
        return [], 0, 0, f"none of the body's {unparsed} non-comment lines is a Prometheus sample"
    return lines, samples, unparsed, None


def _append(path: Path, text: str) -> None:
    """Append `text` with O_APPEND writes and no buffering: a reader never sees half a scrape in practice, and a file
    moved away (rotated) is created afresh on the next scrape."""
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def scrape(
    urls: str | Sequence[str],
    interval_s: float,
    count: int,
    out: str | Path,
    notice: Callable[[str], None] = print,
    timeout_s: float | None = None,
) -> ScrapeSummary:
    """Append `count` rounds of scrapes of every URL (0: until Ctrl-C), one every `interval_s` seconds, to `out`."""
    targets = [target(u) for u in ([urls] if isinstance(urls, str) else urls)]
    if not targets:
        raise InputError("--scrape: no URL given")
    if not interval_s > 0:
        raise InputError(f"--interval {interval_s}: expected a number of seconds above 0")
    if count < 0:
        raise InputError(f"--count {count}: expected 0 (until Ctrl-C) or more")
    # Like Prometheus' scrape_timeout: at most 10 s and no longer than the interval, but never under 1 s, which a
    # loaded host can take to answer.
    timeout = timeout_s if timeout_s is not None else min(10.0, max(interval_s, 1.0))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = ScrapeSummary(out=str(path))
    failing = dict.fromkeys((t.shown for t in targets), 0)
    headers = {"Accept": ACCEPT, "User-Agent": "monitor-pipeline-collect"}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, headers=headers) as client:
            start, slot, rounds = time.monotonic(), 0, 0
            while True:
                # Drift-free: round k is due at start + k * interval, whatever the previous rounds took.
                delay = start + slot * interval_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                for t in targets:
                    _scrape_one(client, t, path, summary, failing, notice)
                rounds += 1
                if count and rounds >= count:
                    break
                # A round that overran its slot skips the slots it covered (as Prometheus does) instead of scraping in
                # a burst to catch up: every scrape stays on the start + k * interval grid.
                nxt = max(slot, math.floor((time.monotonic() - start) / interval_s)) + 1
                if nxt > slot + 1:
                    if not summary.missed:
                        notice(f"a round of scrapes took longer than --interval {interval_s:g} s: skipping slots")
                    summary.missed += nxt - slot - 1
                slot = nxt
    except KeyboardInterrupt:
        pass  # Ctrl-C is how an unbounded run ends; every completed scrape is already on disk
    return summary


def _scrape_one(
    client: httpx.Client,
    t: Target,
    path: Path,
    summary: ScrapeSummary,
    failing: dict[str, int],
    notice: Callable[[str], None],
) -> None:
    """Scrape `t` once and append the result (or one comment saying why it failed) to `path`."""
    ms = time.time_ns() // 1_000_000  # Prometheus dates a scrape by its start
    status = ""
    try:
        resp = _fetch(client, t.url)
        status = f" status {resp.status_code}"
        lines, n, unparsed, why = _exposition(resp, t, ms)
    except httpx.TimeoutException as exc:
        lines, n, unparsed, why = [], 0, 0, _one_line(f"timed out ({type(exc).__name__})", t)
    except httpx.HTTPError as exc:
        lines, n, unparsed, why = [], 0, 0, _one_line(f"{type(exc).__name__}: {exc}", t)
    head = f"# scrape {t.shown} at {_iso(ms)}{status}"
    if why is not None:
        _append(path, f"{head} failed: {why}\n")
        summary.failed += 1
        failing[t.shown] += 1
        notice(f"scrape of {t.shown} failed: {why}")
        return
    _append(path, "".join(x + "\n" for x in [f"{head} samples {n}", *lines]))
    summary.ok += 1
    summary.samples += n
    if unparsed:
        summary.unparsed += unparsed
        notice(
            f"scrape of {t.shown}: {unparsed} line(s) are not samples; written as sent (the ingest quarantines them)"
        )
    if failing[t.shown]:
        notice(f"scrape of {t.shown} ok again after {failing[t.shown]} failed")
        failing[t.shown] = 0
