"""Format detection that refuses instead of guessing: each format scores a file's head, and a file no format claims
with confidence is refused with the closest formats named.

A score is 1.0 for a format's own signature (a known header, OpenAI's batch envelope, Prometheus text), about 0.9 for
a generic format whose fields map (a request CSV or JSONL), and low when the file is shaped like the format but its
fields do not map. The best score must reach ACCEPT; a format named explicitly (`--format`, `format:`) is refused
only when its own sniff finds the file is not of that kind at all (score 0), with the reason.
"""

from __future__ import annotations

from pathlib import Path

from monitor_pipeline.errors import InputError

# The sniffs register themselves in SNIFFERS in this order (a tie goes to the first).
from monitor_pipeline.ingest.formats import sniff_json, sniff_text  # noqa: F401
from monitor_pipeline.ingest.formats.files import read_head
from monitor_pipeline.ingest.formats.options import ReadOptions
from monitor_pipeline.ingest.formats.sniff import ACCEPT, SNIFFERS, Head, Verdict


def head_of(path: str | Path, options: ReadOptions | None = None) -> Head:
    """The head of a local file for sniffing (gzip undone, byte-order mark dropped)."""
    return Head(path=str(path), name=Path(path).name, raw=read_head(path), options=options or ReadOptions())


def _binary(head: Head) -> str | None:
    if head.undecodable > 0.1:
        return (
            f"binary data, not a text log ({head.undecodable:.0%} of its first characters are not UTF-8 text); "
            "a compressed file other than gzip must be decompressed first"
        )
    return None


def _refuse(path: str, verdicts: list[Verdict]) -> InputError:
    close: list[Verdict] = []
    for v in sorted(verdicts, key=lambda v: -v.score):
        if v.why and all(v.why != c.why for c in close) and len(close) < 2 and (v.score > 0 or not close):
            close.append(v)
    named = "; ".join(f"{v.name} ({v.why})" for v in close)
    return InputError(
        f"{path}: cannot tell the format with confidence; closest: {named}. Pass --format NAME "
        "(see `monitor-pipeline formats`) or set `format:` and `fields:` on the source"
    )


def detect(path: str | Path, options: ReadOptions | None = None) -> Verdict:
    """The format of a local file, or InputError naming the closest formats (or why the file cannot be read)."""
    head = head_of(path, options)
    if not head.raw.strip():
        return Verdict("jsonl", 1.0, "an empty file")
    if why := _binary(head):
        raise InputError(f"{path}: {why}")
    verdicts = [s(head) for name, s in SNIFFERS.items()]
    best = max(verdicts, key=lambda v: v.score)
    if best.score < ACCEPT:
        raise _refuse(str(path), verdicts)
    if best.problem:
        raise InputError(f"{path}: {best.problem}")
    return best


def check(path: str | Path, name: str, options: ReadOptions | None = None) -> Verdict:
    """Confirm an explicitly named format: refused only when its sniff finds the file is not of that kind."""
    head = head_of(path, options)
    if not head.raw.strip():
        return Verdict(name, 1.0, "an empty file")
    if why := _binary(head):
        raise InputError(f"{path}: {why}")
    if b"\n" not in head.raw and len(head.raw) < (64 << 10):
        # One line still being written (a log just rotated): nothing to judge yet, and nothing is read before its
        # newline; a last line that never ends is quarantined as truncated by a batch read.
        return Verdict(name, 1.0, "a single line without its newline")
    sniff = SNIFFERS.get(name)
    if sniff is None:
        return Verdict(name, 1.0)
    verdict = sniff(head)
    if verdict.problem:
        raise InputError(f"{path}: {verdict.problem}")
    if verdict.unmapped:  # the file has the format's shape, but its fields do not map
        alt = max((s(head) for n, s in SNIFFERS.items() if n != name), key=lambda v: v.score)
        hint = f"; it looks like {alt.name} ({alt.why}): pass --format {alt.name}" if alt.score >= ACCEPT else ""
        raise InputError(f"{path}: read as {name}, {verdict.why}{hint}")
    if verdict.score == 0.0:  # not this format's shape: refused when another format clearly claims the file
        alt = max((s(head) for n, s in SNIFFERS.items() if n != name), key=lambda v: v.score)
        if alt.score >= ACCEPT and alt.problem:
            raise InputError(f"{path}: not {name} ({verdict.why}); {alt.problem}")
        if alt.score >= ACCEPT:
            raise InputError(
                f"{path}: not {name} ({verdict.why}); it looks like {alt.name} ({alt.why}): pass "
                f"--format {alt.name} or leave the format to detection"
            )
    return verdict
