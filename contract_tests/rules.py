"""Every rule of the contract (docs/contract.md), one line each, with a stable id.

Tests declare the rules they check (`@pytest.mark.rule("auth.missing-key-401")`),
every assertion message starts with a rule id, and the end-of-run summary
lists each rule below as checked, skipped (why), failed or not exercised.
A rule the suite cannot check against an unknown target carries the reason in
`unchecked`, so the summary can say why instead of staying silent.

docs/contract.md ends with an index of these rules made by `reference_table()`;
`python -m contract_tests.rules docs/contract.md` rewrites it there.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its id, the docs/contract.md section it comes from, and what it says."""

    id: str
    section: str
    text: str
    unchecked: str = ""


ENDPOINTS = "Endpoints"
ENVELOPE = "Envelope"
SUBMIT = "Submit request"
STATUS = "Status response"
BALANCE = "Balance"
PRECEDENCE = "Which error wins"
ALIASES = "Docs versions that disagree on input names"
FAILURES = "Failure codes"
ERRORS = "Other HTTP errors"
CALLBACKS = "Callbacks"
RESULTS = "Timing and results"
# The order of the sections in docs/contract.md.
SECTIONS = (
    ENDPOINTS,
    ENVELOPE,
    SUBMIT,
    STATUS,
    BALANCE,
    PRECEDENCE,
    ALIASES,
    FAILURES,
    ERRORS,
    CALLBACKS,
    RESULTS,
)

# Why a rule may go unchecked: what a target without admin controls would need.
_TOO_MANY_REQUESTS = (
    "checked on a mock that lowers the limit, or with --apixo-limit-key and --apixo-limit-rpm"
    " for a key with a lower limit; a real key needs 10000 requests/min"
)
_TOO_MANY_TASKS = (
    "checked on a mock that lowers the cap, or with --apixo-limit-key and"
    " --apixo-limit-unfinished for a key with a lower cap; a real key needs 1000 unfinished tasks"
)

RULES: tuple[Rule, ...] = (
    Rule("auth.missing-key-401", ENDPOINTS, "A request without Authorization gets 401."),
    Rule(
        "auth.malformed-key-401",
        ENDPOINTS,
        "An Authorization header that is not 'Bearer KEY' (Basic, empty token, no scheme)"
        " gets 401.",
    ),
    Rule("auth.unknown-key-401", ENDPOINTS, "An unknown API key gets 401."),
    Rule("routing.unknown-model-404", ENDPOINTS, "An unknown model in the path gets 404."),
    Rule("routing.unknown-path-404", PRECEDENCE, "An unknown path gets 404."),
    Rule(
        "routing.wrong-method-405",
        PRECEDENCE,
        "A wrong method gets 405 with an Allow header naming the right one.",
    ),
    Rule(
        "envelope.json",
        ENVELOPE,
        "Every response body is JSON {code: integer, message: non-empty string, data}.",
    ),
    Rule("envelope.code-equals-status", ENVELOPE, "`code` equals the HTTP status."),
    Rule("envelope.success-200", ENVELOPE, "Success is HTTP 200 with message 'success'."),
    Rule(
        "envelope.content-type",
        ENVELOPE,
        "Every answer of the API's endpoints says Content-Type application/json.",
    ),
    Rule(
        "errors.envelope",
        ENVELOPE,
        "An error answer is the envelope with `data` null or an object.",
    ),
    Rule("submit.accepts-valid", SUBMIT, "A valid submit gets 200 with data.taskId."),
    Rule(
        "submit.defaults",
        SUBMIT,
        "Omitted request_type, provider, aspect_ratio and num_images mean async, auto, 1:1 and 1;"
        " for another model omitted fields take its pack's defaults (its output's count, aspect"
        " ratio, resolution, format and duration).",
    ),
    Rule("submit.not-json-400", SUBMIT, "A body that is not JSON gets 400."),
    Rule("submit.not-object-400", SUBMIT, "A JSON body that is not an object gets 400."),
    Rule(
        "submit.content-type-400",
        SUBMIT,
        "A body whose Content-Type is not JSON gets 400, even when the bytes are JSON.",
    ),
    Rule("submit.input-400", SUBMIT, "`input` is a required object."),
    Rule(
        "submit.mode-400",
        SUBMIT,
        "input.mode is required and must be one of the model's modes ('gpt-image-1' for"
        " gpt-image-1).",
    ),
    Rule(
        "submit.prompt-400",
        SUBMIT,
        "input.prompt is required, a string of 1 to 10000 characters.",
    ),
    Rule(
        "submit.prompt-bounds",
        SUBMIT,
        "Prompts of exactly 1 and exactly 10000 characters are accepted (another model: the"
        " shortest and the longest its schema allows).",
    ),
    Rule("submit.aspect-ratio-400", SUBMIT, "input.aspect_ratio is one of 1:1, 3:2, 2:3."),
    Rule("submit.num-images-400", SUBMIT, "input.num_images is one of the integers 1, 2, 4."),
    Rule(
        "submit.image-urls-400",
        SUBMIT,
        "input.image_urls is an array of at most 5 absolute http(s) URL strings.",
    ),
    Rule(
        "submit.schema-400",
        SUBMIT,
        "A body that breaks one constraint of the model's request schema (a required field"
        " left out, a wrong JSON type, a value outside its enum, its length, its range, its item"
        " count or its pattern) gets 400.",
    ),
    Rule(
        "submit.image-urls-accepted",
        FAILURES,
        "Well-formed image URLs are accepted at submit; an unreachable one fails the task,"
        " not the submit.",
    ),
    Rule("submit.request-type-400", SUBMIT, "request_type is 'async' or 'callback'."),
    Rule(
        "submit.callback-url-400",
        SUBMIT,
        "request_type 'callback' needs callback_url, an absolute http(s) URL.",
    ),
    Rule(
        "submit.provider-400",
        SUBMIT,
        "provider is 'auto', 'value' or 'official' (gpt-image-1; another model: the values"
        " its schema lists).",
    ),
    Rule("submit.extra-fields-ignored", SUBMIT, "Unknown extra fields are ignored."),
    Rule(
        "drift.unknown-fields",
        ENVELOPE,
        "Answers carry only the fields the schemas declare; extras are reported as drift"
        " and fail only with --apixo-strict.",
    ),
    Rule(
        "submit.error-names-field",
        SUBMIT,
        "A validation error says which field is wrong (in message or data).",
    ),
    Rule(
        "status.schema",
        STATUS,
        "A status read is 200 with data {taskId, state} shaped for its state: resultJson only"
        " on success, failCode/failMsg only on failed.",
    ),
    Rule("status.task-id-echo", STATUS, "data.taskId is the id given at submit."),
    Rule(
        "status.states-forward",
        STATUS,
        "States only move forward: pending -> processing -> success or failed.",
    ),
    Rule(
        "status.terminal-stable",
        STATUS,
        "A terminal state never changes and its body is identical on every read.",
    ),
    Rule(
        "status.times",
        STATUS,
        "success carries createTime, completeTime, costTime; wherever they appear they are"
        " integer Unix milliseconds.",
    ),
    Rule("status.cost-time", STATUS, "costTime == completeTime - createTime >= 0."),
    Rule(
        "status.result-json-string",
        STATUS,
        'On success resultJson is a JSON *string* holding {"resultUrls": [...]}.',
    ),
    Rule(
        "status.result-count",
        STATUS,
        "resultUrls holds exactly num_images URLs (another model: one URL per output file its"
        " pack gives for the request).",
    ),
    Rule(
        "status.failed-fields",
        STATUS,
        "failed carries a documented failCode (the platform's, or one of the model's own)"
        " and a non-empty failMsg.",
    ),
    Rule("status.missing-task-id-400", STATUS, "A missing or empty taskId parameter gets 400."),
    Rule("status.unknown-task-404", STATUS, "An unknown taskId gets 404."),
    Rule("status.other-key-404", STATUS, "Another key's task gets the same 404."),
    Rule(
        "status.other-model-404",
        STATUS,
        "A task read under another model's status path gets the same 404 as an unknown task.",
    ),
    Rule(
        "balance.bare-number",
        BALANCE,
        "The balance answer's data is a bare JSON number (never a string), >= 0.",
    ),
    Rule(
        "balance.charge",
        BALANCE,
        "A submit charges num_images x price (default 0.35 USD); another model its pack's price"
        " rule (per image, per video, per second of video or per task).",
    ),
    Rule("balance.refund", BALANCE, "A failed task's charge is refunded."),
    Rule(
        "balance.insufficient-400",
        BALANCE,
        "A submit the balance cannot cover gets 400 'Insufficient credits'.",
        unchecked="checked on a mock that lowers a balance, or with --apixo-low-balance-key"
        " for a key whose balance is below one image",
    ),
    Rule("precedence.path-before-auth", PRECEDENCE, "An unknown path is 404 even without a key."),
    Rule(
        "precedence.auth-before-model",
        PRECEDENCE,
        "Without a valid key an unknown model is 401, not 404.",
    ),
    Rule(
        "precedence.auth-before-method",
        PRECEDENCE,
        "Without a valid key a wrong method is 401, not 405.",
    ),
    Rule(
        "precedence.auth-before-body",
        PRECEDENCE,
        "Without a valid key an invalid body or parameter is 401, not 400.",
    ),
    Rule(
        "precedence.model-before-method",
        PRECEDENCE,
        "An unknown model with a wrong method is 404, not 405.",
    ),
    Rule(
        "precedence.model-before-body",
        PRECEDENCE,
        "An unknown model with an invalid body is 404, not 400.",
    ),
    Rule(
        "precedence.method-before-body",
        PRECEDENCE,
        "A wrong method with an invalid body is 405, not 400.",
    ),
    Rule(
        "precedence.rate-limit-order",
        PRECEDENCE,
        "The per-minute 429 comes after 401 and before 404/405/400.",
        unchecked=_TOO_MANY_REQUESTS,
    ),
    Rule(
        "precedence.task-cap-order",
        PRECEDENCE,
        "The unfinished-task 429 comes after 400 and before insufficient credits.",
        unchecked=_TOO_MANY_TASKS,
    ),
    Rule(
        "ratelimit.retry-after",
        PRECEDENCE,
        "A 429 may carry Retry-After in seconds (its absence is reported, never a failure).",
    ),
    Rule(
        "limits.requests-per-minute-429",
        ERRORS,
        "More than 10000 requests per minute per key gets 429.",
        unchecked=_TOO_MANY_REQUESTS,
    ),
    Rule(
        "limits.unfinished-tasks-429",
        ERRORS,
        "More than 1000 unfinished tasks per key gets 429.",
        unchecked=_TOO_MANY_TASKS,
    ),
    Rule(
        "limits.refusal-free",
        ERRORS,
        "A submit refused with 429 costs nothing: the balance is not charged.",
        unchecked=_TOO_MANY_TASKS,
    ),
    Rule(
        "errors.status-envelopes",
        ERRORS,
        "403, 429, 500 and 503 answers are envelopes too.",
        unchecked="checked on a mock asked to answer them; a real service answers them at will",
    ),
    Rule("alias.nvariants", ALIASES, "nVariants is accepted as an alias of num_images."),
    Rule(
        "alias.nvariants-conflict-400",
        ALIASES,
        "num_images and nVariants both given and different: 400.",
    ),
    Rule("alias.is-enhance-accepted", ALIASES, "A boolean isEnhance is accepted and ignored."),
    Rule("alias.is-enhance-type-400", ALIASES, "isEnhance of any other type: 400."),
    Rule(
        "failures.content-violation",
        FAILURES,
        "A prompt that breaks the safety guidelines ends failed with CONTENT_VIOLATION.",
    ),
    Rule(
        "failures.invalid-image-url",
        FAILURES,
        "A task whose reference image cannot be fetched (a host under RFC 2606 .invalid)"
        " ends failed with INVALID_IMAGE_URL.",
    ),
    Rule(
        "callbacks.same-envelope",
        CALLBACKS,
        "With request_type callback, the final status envelope is POSTed to callback_url.",
    ),
    Rule(
        "results.downloadable",
        RESULTS,
        "Every result URL downloads as a file of the model's output kind: an image (JPG, PNG"
        " or WebP), an H.264 MP4 video or an MP3 track, that a real decoder opens.",
    ),
    Rule(
        "results.size",
        RESULTS,
        "Image size by aspect ratio: 1:1 1024x1024, 3:2 1536x1024, 2:3 1024x1536 (another"
        " model: the size its pack gives for the aspect ratio and resolution asked for).",
    ),
    Rule(
        "results.format",
        RESULTS,
        "A result file is in the format asked for (output_format) or the model's default"
        " (videos: H.264).",
    ),
    Rule(
        "results.duration",
        RESULTS,
        "A video or track plays for the duration asked for or the model's default (within 0.6 s).",
    ),
)


def rule_ids() -> tuple[str, ...]:
    """Every rule id, in table order."""
    return tuple(rule.id for rule in RULES)


def get(rule_id: str) -> Rule:
    """The rule with this id; KeyError names an id that the table lacks."""
    for rule in RULES:
        if rule.id == rule_id:
            return rule
    raise KeyError(f"unknown contract rule {rule_id!r}")


INDEX_START = "<!-- rule index: generated from contract_tests/rules.py -->"
INDEX_END = "<!-- end of rule index -->"


def with_index(document: str) -> str:
    """`document` with its rule index rewritten (contract_tests/rule_index.py)."""
    from .rule_index import with_index as rewrite  # imported here: it imports this module

    return rewrite(document)


if __name__ == "__main__":
    from .rule_index import main

    raise SystemExit(main(sys.argv[1:]))
