"""OpenAI's own outputs: Batch API output files and raw chat.completion / responses objects, one JSON object a line."""

from __future__ import annotations

from monitor_pipeline.ingest.formats.jsonl import json_lines

# A Batch API output line: {"id": "batch_req_…", "custom_id": …, "response": {"status_code", "request_id", "body":
# <a chat.completion or response object>}, "error": null | {"code", "message"}}. A failed request has no body, so no
# time: it is quarantined as missing its timestamp rather than dated by a guess.
_BODY = "response/body"
OPENAI_BATCH = json_lines(
    "openai_batch",
    "requests",
    "OpenAI Batch API output (JSONL): custom_id, response.status_code, response.body "
    "(chat.completion or response object: created, model, usage, the reply)",
    columns={
        "timestamp": [f"{_BODY}/created", f"{_BODY}/created_at"],
        "request_id": ["custom_id", "id"],
        "model": [f"{_BODY}/model"],
        "operation": [f"{_BODY}/object"],
        "input_tokens": [f"{_BODY}/usage/prompt_tokens", f"{_BODY}/usage/input_tokens"],
        "output_tokens": [f"{_BODY}/usage/completion_tokens", f"{_BODY}/usage/output_tokens"],
        "http_status": ["response/status_code"],
        "error_type": ["error/code", f"{_BODY}/error/type", f"{_BODY}/error/code"],
        "completion": [
            f"{_BODY}/choices/[0]/message/content",
            f"{_BODY}/choices/[0]/text",
            f"{_BODY}/output/[0]/content/[0]/text",
        ],
        "user_id": [f"{_BODY}/user"],
    },
)

# A raw chat.completion / text_completion (created) or Responses API object (created_at), as logged by a client.
OPENAI_RESPONSE = json_lines(
    "openai_response",
    "requests",
    "raw OpenAI chat.completion / responses objects (JSONL): id, created, model, usage, the reply",
    columns={
        "timestamp": ["created", "created_at"],
        "request_id": ["id"],
        "model": ["model"],
        "operation": ["object"],
        "input_tokens": ["usage/prompt_tokens", "usage/input_tokens"],
        "output_tokens": ["usage/completion_tokens", "usage/output_tokens"],
        "error_type": ["error/type", "error/code"],
        "completion": ["choices/[0]/message/content", "choices/[0]/text", "output/[0]/content/[0]/text"],
        "user_id": ["user"],
    },
)
