"""A config's sources for one day: files per source with their formats, refused files kept, the engine's request."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from paths import SAMPLES

from monitor_pipeline.errors import InputError
from monitor_pipeline.ingest.sources import SourceSpec, resolve_sources

DAY = dt.date(2026, 11, 20)


def test_each_file_is_read_by_its_format_under_its_source(tmp_path):
    day_dir = tmp_path / DAY.isoformat()
    day_dir.mkdir()
    shutil.copy(SAMPLES / "requests.jsonl", day_dir / "gw.jsonl")
    sources = resolve_sources(
        [
            SourceSpec("gw", (str(tmp_path / "{date}" / "*.jsonl"),), model="fallback"),
            SourceSpec("gpus", (str(SAMPLES / "nvidia_smi.csv"),)),
        ],
        DAY,
    )
    assert [(f.source, f.fmt.name, f.defaults) for f in sources.files] == [
        ("gw", "jsonl", (("model", "fallback"),)),
        ("gpus", "nvidia_smi", (("model", "unknown"),)),
    ]
    assert sources.paths == [str(day_dir / "gw.jsonl"), str(SAMPLES / "nvidia_smi.csv")]
    assert sources.names == {"gw", "gpus"} and sources.refusals == ()


def test_a_file_no_format_reads_is_refused_not_an_error(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("Dear team, the deploy went fine.\nThanks, see you, Bob\n")
    sources = resolve_sources([SourceSpec("misc", (str(notes),))], DAY)
    (refusal,) = sources.refusals
    assert "cannot tell the format" in refusal
    assert [f.path for f in sources.files] == [str(notes)]  # still read: each line quarantined with the refusal


def test_a_path_that_names_no_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        resolve_sources([SourceSpec("gone", (str(tmp_path / "{date}.jsonl"),))], DAY)


def test_the_request_carries_the_day_files_and_warnings():
    sources = resolve_sources([SourceSpec("gw", (str(SAMPLES / "requests.jsonl"),))], DAY)
    now = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    request = sources.request(DAY, redact=False, now=now, raw_cap=100)
    assert (request.files, request.partition, request.now, request.redact, request.raw_cap) == (
        sources.files,
        DAY,
        now,
        False,
        100,
    )
    assert request.defaults == {"model": "unknown"} and request.warnings == sources.warnings
