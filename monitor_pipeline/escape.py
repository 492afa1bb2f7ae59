"""Data values made inert for each sink: Slack mrkdwn, Dagster markdown, MLflow names, JSON inside an HTML <script>.

Values are `str()`-ed and come back as text the sink shows literally: no mention, link, image, HTML element or script
can come out of the data. Our own markup (Slack links, table pipes) is added around the escaped values, never inside.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Iterable, Sequence
from typing import Any

ZWSP = "\u200b"  # zero-width space: breaks a pattern a renderer would act on without changing what is shown

# --- Slack -----------------------------------------------------------------------------------------------------------
_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# A bare @channel/@here/@everyone is no mention in our payloads (no parse/link_names), but one flag away from it.
_SLACK_BROADCAST = re.compile(r"(?i)@(?=(?:channel|here|everyone)\b)")


def slack_text(value: object) -> str:
    """Text for any Slack text field: & < > as Slack's entities (no <!channel>, <@U…>, <url|…>), broadcasts defused."""
    return _SLACK_BROADCAST.sub("@" + ZWSP, str(value).translate(_SLACK))


def slack_code(value: object) -> str:
    """Text for inside a Slack `code` span: escaped like `slack_text`, a backtick (which would end the span) as '."""
    return slack_text(value).replace("`", "'")


def slack_link(url: str, label: object) -> str:
    """Our own Slack link markup `<url|label>`, with both parts escaped so neither can break out of it."""
    return f"<{str(url).translate(_SLACK).replace('|', '%7C')}|{slack_text(label)}>"


def console_text(value: object) -> str:
    """One line for a terminal or log: control characters (escape sequences, CR, newlines) shown as \\x.. escapes."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(value))


# --- Dagster markdown (react-markdown + GFM, as the Dagster UI renders it) ----------------------------------------------
_MD = {
    "\\": "\\\\",
    "`": "\\`",
    "*": "\\*",
    "~": "\\~",
    "[": "\\[",
    "]": "\\]",
    "|": "\\|",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#x27;",
}
_NEWLINES = re.compile(r"\r\n|\r|\n")
# GFM turns bare URLs, www. names and e-mail addresses into links after escapes are resolved: break the trigger.
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)(?=[-\w]+\.[-\w])")
_BLOCK_START = re.compile(r"^([#=+-])|^(\d+)([.)])")


def _md_inline(s: str) -> str:
    out = []
    for i, ch in enumerate(s):
        if ch == "_":
            # Between two letters/digits an underscore can never start or end emphasis: keep snake_case readable.
            intraword = 0 < i < len(s) - 1 and s[i - 1].isalnum() and s[i + 1].isalnum()
            out.append("_" if intraword else "\\_")
        else:
            out.append(_MD.get(ch, ch))
    return _AUTOLINK.sub(ZWSP, "".join(out))


def markdown_cell(value: object) -> str:
    """One table cell of Dagster markdown: HTML, pipes, backticks, emphasis and link syntax escaped, newlines as spaces."""
    return _md_inline(_NEWLINES.sub(" ", str(value)))


def markdown_text(value: object) -> str:
    """Free text for Dagster markdown: escaped like a cell, line breaks kept, no line starting a heading, list or code."""
    lines = []
    for line in _NEWLINES.split(str(value)):
        line = _md_inline(line.lstrip(" \t"))
        lines.append(_BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", line))
    return "\n".join(lines)


def markdown_table(columns: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A GFM table whose every header and cell goes through `markdown_cell`."""
    lines = ["| " + " | ".join(markdown_cell(c) for c in columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(markdown_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# --- MLflow names -----------------------------------------------------------------------------------------------------
MLFLOW_NAME_MAX = 250  # MLflow's limit on a metric, param or tag key
_MLFLOW_SANITIZED_MAX = 240  # leaves room for the `name.` prefix of the tag that keeps the original
_MLFLOW_CHARS = re.compile(r"[A-Za-z0-9_\-. :/]*")
_MLFLOW_BAD = re.compile(r"[^A-Za-z0-9_\-. :/]")


def _mlflow_valid(name: str, limit: int = MLFLOW_NAME_MAX) -> bool:
    """MLflow's own rules (characters, and a name that is its own normalized path), with ASCII letters only."""
    if not name or len(name) > limit or not _MLFLOW_CHARS.fullmatch(name):
        return False
    norm = posixpath.normpath(name)
    return norm == name and norm != "." and not norm.startswith(("..", "/"))


def mlflow_name(name: object) -> str:
    """`name` when MLflow accepts it as a key; else the allowed characters plus a stable hash of the original."""
    s = str(name)
    if _mlflow_valid(s):
        return s
    digest = hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    body = _MLFLOW_BAD.sub("_", s)[: _MLFLOW_SANITIZED_MAX - len(digest) - 1]
    # Path rules: no empty, `.` or `..` segment (nor a leading or trailing slash).
    segments = ["_" * len(p) if p in (".", "..") else p for p in body.split("/") if p]
    out = f"{'/'.join(segments) or '_'}-{digest}"
    assert _mlflow_valid(out, _MLFLOW_SANITIZED_MAX), out
    return out


def mlflow_name_tags(names: Iterable[object]) -> dict[str, str]:
    """Tags `name.<sanitized>` = original, for each name that `mlflow_name` had to change."""
    return {f"name.{mlflow_name(n)}": str(n) for n in names if mlflow_name(n) != str(n)}


# --- JSON inside HTML <script> ------------------------------------------------------------------------------------------
_SCRIPT_JSON = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script_json(text: str) -> str:
    """A JSON text made safe inside <script>: < > & U+2028/9 as \\u escapes (only strings can hold them: same value)."""
    return text.translate(_SCRIPT_JSON)


def html_json(obj: Any, **kwargs: Any) -> str:
    """`json.dumps(obj)` safe to embed in an HTML <script> element."""
    return script_json(json.dumps(obj, **kwargs))
