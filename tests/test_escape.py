"""Escaping of data values for Slack, Dagster markdown, MLflow names and JSON inside <script>."""

from __future__ import annotations

import json
import posixpath
import re

import pytest
from mlflow.utils.validation import _validate_metric_name, _validate_param_name, _validate_tag_name

from monitor_pipeline.escape import (
    ZWSP,
    console_text,
    html_json,
    markdown_cell,
    markdown_table,
    markdown_text,
    mlflow_name,
    mlflow_name_tags,
    script_json,
    slack_code,
    slack_link,
    slack_text,
)

SCRIPT = "</script><script>document.title='pwned'</script>"
IMG = "<img src=x onerror=\"document.title='pwned'\">"
HOSTILE = [SCRIPT, IMG, "<!channel>", "<!here>", "a@b (c)+d", "<@U0123|boss>", "<http://evil.example|click>"]


@pytest.mark.parametrize("value", HOSTILE)
def test_slack_text_leaves_no_control_sequence(value):
    out = slack_text(value)
    assert "<" not in out and ">" not in out
    assert out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == value  # what Slack shows


def test_slack_text_escapes_ampersand_first_and_defuses_bare_broadcasts():
    assert slack_text("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert slack_text("&lt;!channel&gt;") == "&amp;lt;!channel&amp;gt;"  # an entity in the data stays literal text
    assert slack_text("ping @channel and @Here, not user@channelx") == (
        f"ping @{ZWSP}channel and @{ZWSP}Here, not user@channelx"
    )


def test_slack_link_and_code_keep_our_markup_and_contain_the_data():
    assert slack_link("http://h:3000/runs/1?a=1&b=2", "Dagster run") == "<http://h:3000/runs/1?a=1&amp;b=2|Dagster run>"
    assert slack_link("http://h/x|<!channel>", "<b>") == "<http://h/x%7C&lt;!channel&gt;|&lt;b&gt;>"
    assert slack_code("k:`<!here>`") == "k:'&lt;!here&gt;'"


def test_markdown_cell_shows_the_value_and_renders_nothing():
    assert markdown_cell(SCRIPT) == "&lt;/script&gt;&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;"
    assert markdown_cell("[x](http://evil.example) ![i](http://e.example/t.png)") == (
        f"\\[x\\](http:{ZWSP}//evil.example) !\\[i\\](http:{ZWSP}//e.example/t.png)"
    )
    assert markdown_cell("a|b\nc\r\nd `e` *f* ~g~ _h_ \\") == "a\\|b c d \\`e\\` \\*f\\* \\~g\\~ \\_h\\_ \\\\"
    # GFM links bare addresses after escapes are resolved: the trigger itself is broken (invisibly).
    assert (
        markdown_cell("www.evil.example mail me@evil.example") == f"www{ZWSP}.evil.example mail me@{ZWSP}evil.example"
    )


def test_markdown_cell_keeps_ordinary_names_readable():
    for name in (
        "llama-3.1-8b-instruct",
        "input_tokens",
        "support_intents@v1",
        "file:line",
        "0.25",
        "a@b (c)+d",
        "gpu/0",
    ):
        assert markdown_cell(name) == name


def test_markdown_text_starts_no_block():
    assert markdown_text("# h\n    code\n1. one\n- li\n> q\nok") == "\\# h\ncode\n1\\. one\n\\- li\n&gt; q\nok"


def test_markdown_table_escapes_headers_and_cells():
    table = markdown_table(["model", "a|b"], [["<!here>", 1], ["x\ny", "[l](u)"]])
    assert table.splitlines() == [
        "| model | a\\|b |",
        "| --- | --- |",
        "| &lt;!here&gt; | 1 |",
        "| x y | \\[l\\](u) |",
    ]


def _mlflow_accepts(name: str) -> None:
    _validate_metric_name(name)
    _validate_param_name(name)
    _validate_tag_name(name)
    assert len(name) <= 250


@pytest.mark.parametrize(
    "name", [*HOSTILE, "", ".", "..", "/abs", "a//b", "trail/", "a/./b", "x" * 400, "é", "tab\there", "a/../b"]
)
def test_mlflow_name_is_accepted_by_mlflow_and_stable(name):
    safe = mlflow_name(name)
    _mlflow_accepts(safe)
    _mlflow_accepts(f"name.{safe}")  # the tag that keeps the original
    _mlflow_accepts(f"{safe}.accuracy")
    assert mlflow_name(name) == safe and re.fullmatch(r".*-[0-9a-f]{10}", safe)
    assert mlflow_name_tags([name]) == {f"name.{safe}": name}


def test_mlflow_name_leaves_valid_names_alone_and_never_merges_two_originals():
    for name in ("accuracy", "drift.prompt_length", "floor.f1", "dagster.run_id", "a b:c/d-e"):
        assert mlflow_name(name) == name and mlflow_name_tags([name]) == {}
    variants = ["a@b", "a#b", "a b@", "a_b_", "a(b)", "a)b("]
    assert len({mlflow_name(v) for v in variants}) == len(variants)
    assert posixpath.normpath(mlflow_name("a@b")) == mlflow_name("a@b")


def test_json_for_script_has_no_markup_and_the_same_value():
    value = {"model": SCRIPT, "op": IMG, "amp": "a&b", "sep": "x\u2028y\u2029z"}
    text = html_json(value, ensure_ascii=False)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == value
    assert json.loads(script_json(json.dumps(value))) == value


def test_console_text_shows_control_characters_as_escapes():
    assert console_text("a\x1b]0;pwned\x07b\r\nc\u202ed") == "a\\x1b]0;pwned\\x07b\\r\\nc\\u202ed"
    assert console_text("plain é text") == "plain é text"
