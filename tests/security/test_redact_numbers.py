"""Redaction only where text is: never inside a number, and in a JSON line only inside its string values."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import build_request
from monitor_pipeline.security.patterns import card_ok
from monitor_pipeline.security.redact import redact_raw, redact_text

NOW = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
# The float of the report: its decimals are 16 digits with a card issuer prefix (644) that pass the Luhn check.
FLOAT = "0.6449479080535836"


def test_the_reported_float_would_pass_as_a_card_on_its_own():
    assert card_ok(FLOAT[2:])  # what made 0.6449479080535836 become 0.<CREDIT_CARD>


@pytest.mark.parametrize(
    "text",
    [
        FLOAT,
        f"-{FLOAT}",
        f"{FLOAT}e-05",
        "1.5e+6449479080535836",
        "12.6449479080535836",
        "6449479080535836.25",
        "1234 5678 9012 3456 7890 1234",
    ],
)
def test_numbers_are_never_redacted(text):
    assert redact_text(text) == text
    assert redact_raw(text) == text


@pytest.mark.parametrize(
    "text,expected",
    [
        ("card 6449479080535836 ok", "card <CREDIT_CARD> ok"),
        ("pay with 4111-1111-1111-1111.", "pay with <CREDIT_CARD>."),
        ("(4111 1111 1111 1111)", "(<CREDIT_CARD>)"),
        ("call +1 415 555 0100 now", "call <PHONE> now"),
    ],
)
def test_real_pii_in_text_is_still_redacted(text, expected):
    assert redact_text(text) == expected


def test_raw_json_lines_are_redacted_only_in_string_values():
    raw = json.dumps(
        {
            "score": float(FLOAT),
            "id": 6449479080535836,
            "prompt": "my card is 4111111111111111",
            "user": "jane@example.com",
        }
    )
    out = json.loads(redact_raw(raw))  # still valid JSON
    assert out == {
        "score": float(FLOAT),
        "id": 6449479080535836,
        "prompt": "my card is <CREDIT_CARD>",
        "user": "<EMAIL>",
    }


def test_csv_floats_survive_ingestion_and_quarantine(tmp_path):
    """The reported case end to end: a CSV whose score column holds such floats, one line of it quarantined."""
    path = tmp_path / "scores.csv"
    rows = ["timestamp,request_id,model,score,latency_ms,prompt"]
    rows += [f"2026-11-20T00:00:{i:02d}Z,r{i},m,{FLOAT},12.5,hello" for i in range(5)]
    rows += [f"2026-11-20T00:00:09Z,r9,m,{FLOAT},not-a-number,card 4111 1111 1111 1111 please"]
    path.write_text("\n".join(rows) + "\n")
    result = DuckDBEngine(tmp_path / "w.duckdb").ingest(build_request([str(path)], "csv", now=NOW))
    assert (result.clean, result.quarantined) == (5, 1)
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("SELECT DISTINCT score FROM requests").fetchall() == [(float(FLOAT),)]
    (raw,) = con.execute("SELECT raw FROM quarantine").fetchone()
    # The quarantined copy keeps the float as it was, and still hides the card in the prompt.
    assert raw == f"2026-11-20T00:00:09Z,r9,m,{FLOAT},not-a-number,card <CREDIT_CARD> please"


def test_a_cut_json_line_is_redacted_up_to_its_end():
    """A truncated line leaves its last string open: what it holds is still text, and still redacted."""
    raw = '{"score": 0.6449479080535836, "prompt": "cut off sk-proj-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0EdCbA 4539 1488 0343 6467'
    assert redact_raw(raw) == '{"score": 0.6449479080535836, "prompt": "cut off <API_KEY> <CREDIT_CARD>'
    escaped = '{"p": "q \\" 4539 1488 0343 6467 \\\\", "n": 4539148803436467}'
    assert redact_raw(escaped) == '{"p": "q \\" <CREDIT_CARD> \\\\", "n": 4539148803436467}'


def test_the_pii_rule_does_not_page_on_floats():
    from monitor_pipeline.security.text import as_strings, pii_hits

    texts = as_strings([f"score {FLOAT}", "card 4111 1111 1111 1111", f"{FLOAT},{FLOAT}"])
    hits = {h.detector: h.rows.tolist() for h in pii_hits(texts, ("credit_card", "phone", "national_id"))}
    assert hits == {"credit_card": [1], "phone": [], "national_id": []}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("10.0.3.3", "<IP_ADDRESS>"),
        ("4111111111111111", "<CREDIT_CARD>"),
        ('{"client_ip": "10.0.3.3"}', '{"client_ip": "<IP_ADDRESS>"}'),
    ],
)
def test_a_value_that_is_the_whole_text_is_redacted(text, expected):
    """A JSON string value holding only the address is a match at both ends of its text (no neighbour at all)."""
    assert redact_raw(text) == expected
