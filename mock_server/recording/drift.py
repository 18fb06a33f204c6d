"""The drift report: a recording judged by the contract suite's own schemas and checks.

Every recorded answer goes through the checks of contract_tests/checks.py
(the rules of rules.py, by id) and the validators of schemas/; nothing here
restates a rule. What the schemas cannot say is sorted for the reader:
required fields missing, enum values they do not list (a new state or
failCode), fields they do not declare (warnings only), status codes per
endpoint, and the timing the recording shows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any

from contract_tests.checks import (
    STATE_SCHEMAS,
    TERMINAL,
    ContractViolation,
    balance_amount,
    check_envelope,
    check_history,
    check_success,
    check_task_data,
    parsed,
    status_data,
)
from contract_tests.client import ApiResponse
from contract_tests.drift import undeclared, unknown_fields
from contract_tests.schemas import describe, first_error
from mock_server.core import schemas as source

from .exchange import Exchange, body_text
from .stats import ModelTiming, timing_stats


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the report says about one recorded file."""

    where: str
    detail: str
    rule: str = ""


@dataclass(slots=True)
class DriftReport:
    """What a recording shows against the contract; `failed` decides the exit code."""

    exchanges: int = 0
    checked: set[str] = field(default_factory=set)
    broken: list[Finding] = field(default_factory=list)
    missing: list[Finding] = field(default_factory=list)
    enums: list[Finding] = field(default_factory=list)
    unknown: list[Finding] = field(default_factory=list)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    timing: dict[str, ModelTiming] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """The contract is broken: a rule, a missing required field or an unknown enum value."""
        return bool(self.broken or self.missing or self.enums)

    @property
    def held(self) -> list[str]:
        """Rules exercised by the recording and never broken."""
        broken = {finding.rule for finding in self.broken}
        return sorted(self.checked - broken)

    def guard(self, rules: Iterable[str], where: str, check: Callable[[], object]) -> bool:
        """Run one check that exercises `rules`; a violation becomes a finding. True if it held."""
        self.checked.update(rules)
        try:
            check()
        except ContractViolation as violation:
            self.checked.add(violation.rule)
            self.broken.append(Finding(where, violation.detail, violation.rule))
            return False
        return True

    def count_status(self, endpoint: str, status: int) -> None:
        """Tally one answer's status under its endpoint."""
        self.statuses.setdefault(endpoint, Counter())[status] += 1


@dataclass(slots=True)
class _Reads:
    """What one task showed: its status bodies in order, its callback bodies."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def judge(exchanges: Sequence[Exchange]) -> DriftReport:
    """Judge every exchange of a recording, then each task's history, then timing."""
    report = DriftReport(exchanges=len(exchanges))
    tasks: dict[str, _Reads] = {}
    for exchange in exchanges:
        if exchange.document.get("proxyError"):
            continue
        if exchange.kind == "callback":
            _judge_callback(report, exchange, tasks)
        else:
            _judge_api(report, exchange, tasks)
    for task_id, reads in tasks.items():
        _judge_task(report, task_id, reads)
    report.timing = timing_stats(exchanges)
    return report


def endpoint(method: str, path: str) -> str:
    """Which public endpoint a request went to: submit, status, balance or other."""
    if "/generateTask/" in path:
        return "submit"
    if "/statusTask/" in path:
        return "status"
    return "balance" if path.endswith("/apikeys/current-balance") else "other"


def _answer(exchange: Exchange) -> ApiResponse:
    """A recorded API exchange as the suite's checks take it."""
    request, response = exchange.request, exchange.response
    return ApiResponse(
        str(request.get("method", "GET")),
        str(request.get("path", "/")),
        int(response.get("status", 0)),
        dict(response.get("headers") or {}),
        body_text(response.get("body")),
    )


def _judge_api(report: DriftReport, exchange: Exchange, tasks: dict[str, _Reads]) -> None:
    answer, where = _answer(exchange), exchange.name
    kind = endpoint(answer.method, answer.url)
    if answer.url.startswith("/__admin"):
        return  # recording a mock: its admin API is not the contract
    report.count_status(f"{answer.method} {answer.url}", answer.status)
    if answer.method == "HEAD":
        return  # a HEAD answer has no body to judge
    report.guard(["envelope.json"], where, lambda: _json_content_type(answer))
    if not report.guard(
        ["envelope.json", "envelope.code-equals-status"], where, lambda: check_envelope(answer)
    ):
        return
    body = exchange.response.get("body")
    if answer.status == 200 and kind == "status":
        _judge_status(report, exchange, answer, tasks)
        return
    if answer.status == 200 and kind in _SUCCESS:
        schema, rule, check = _SUCCESS[kind]
        report.guard(["envelope.success-200", rule], where, lambda: check(answer))
        _classify(report, where, schema, body)
    elif answer.status >= 400:
        report.guard(["errors.envelope"], where, lambda: _error_envelope(answer))
        _classify(report, where, "error-envelope", body)
    _warn_unknown(report, where, unknown_fields(answer))


def _judge_status(
    report: DriftReport, exchange: Exchange, answer: ApiResponse, tasks: dict[str, _Reads]
) -> None:
    where, body = exchange.name, exchange.response.get("body")
    data = body.get("data") if isinstance(body, dict) else None
    state = data.get("state") if isinstance(data, dict) else None
    asked = str(exchange.request.get("query", {}).get("taskId", ""))
    rules = ["envelope.success-200", "status.schema", "status.task-id-echo", *_state_rules(state)]
    held = report.guard(rules, where, lambda: status_data(answer, asked))
    _classify_task(report, where, "data", data)
    if held and isinstance(body, dict):
        tasks.setdefault(asked, _Reads()).bodies.append(body)


def _judge_callback(report: DriftReport, exchange: Exchange, tasks: dict[str, _Reads]) -> None:
    """A callback: the task shaped for its state first (the precise rule), then the payload."""
    where = exchange.name
    report.count_status("CALLBACK (receiver's answer)", int(exchange.response.get("status", 0)))
    text = body_text(exchange.request.get("body"))
    rule = "callbacks.same-envelope"
    body = exchange.request.get("body")
    data = _data(body)
    if not isinstance(data, dict):
        report.guard([rule], where, lambda: parsed(text, "callback-payload", rule, "callback"))
        return
    rules = ["status.schema", *_state_rules(data.get("state"))]
    held = report.guard(rules, where, lambda: check_task_data(data, where=f"callback {where}"))
    _classify_task(report, where, "data", data)
    if held and report.guard(
        [rule], where, lambda: parsed(text, "callback-payload", rule, "callback")
    ):
        task_id = exchange.task_id or str(data.get("taskId"))
        tasks.setdefault(task_id, _Reads()).callbacks.append((where, dict(body or {})))


def _judge_task(report: DriftReport, task_id: str, reads: _Reads) -> None:
    """Across reads: forward only, terminal bodies stable, the callback equal to the final read."""
    if len(reads.bodies) > 1:
        rules = ["status.states-forward", "status.terminal-stable", "status.times"]
        report.guard(rules, f"task {task_id}", lambda: check_history(reads.bodies))
    final = next((b for b in reads.bodies if b["data"].get("state") in TERMINAL), None)
    if final is None:
        return
    for where, body in reads.callbacks:
        report.guard(["callbacks.same-envelope"], where, partial(_same, body, final, task_id))


def _same(callback: Mapping[str, Any], final: Mapping[str, Any], task_id: str) -> None:
    if dict(callback) != dict(final):
        raise ContractViolation(
            "callbacks.same-envelope",
            f"task {task_id}: the callback body differs from the final status read",
        )


def _json_content_type(answer: ApiResponse) -> None:
    kind = (answer.header("Content-Type") or "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ContractViolation(
            "envelope.json", f"{answer.brief()}: Content-Type is {kind or 'missing'}"
        )


def _error_envelope(answer: ApiResponse) -> None:
    error = first_error("error-envelope", answer.json())
    if error is not None:
        raise ContractViolation("errors.envelope", f"{answer.brief()}: {describe(error)}")


_SUCCESS: Mapping[str, tuple[str, str, Callable[[ApiResponse], object]]] = MappingProxyType(
    {
        "submit": (
            "submit-response",
            "submit.accepts-valid",
            lambda a: check_success(a, "submit-response", "submit.accepts-valid"),
        ),
        "balance": ("balance-response", "balance.bare-number", balance_amount),
    }
)


def _state_rules(state: object) -> list[str]:
    """The rules a read in this state exercises beyond the shape."""
    if state == "success":
        return ["status.times", "status.cost-time", "status.result-json-string"]
    if state == "failed":
        return ["status.failed-fields", "status.cost-time"]
    return []


def _data(body: object) -> object:
    return body.get("data") if isinstance(body, dict) else None


def _classify_task(report: DriftReport, where: str, prefix: str, data: object) -> None:
    """A task body's drift: an unknown state, missing required fields, unknown failCodes."""
    if not isinstance(data, dict):
        return
    state = data.get("state")
    if state not in STATE_SCHEMAS:
        report.enums.append(Finding(where, f"{prefix}.state: {state!r} is not a known state"))
        return
    name = STATE_SCHEMAS[str(state)]
    for error in source.validator(name).iter_errors(data):
        path = [str(part) for part in error.absolute_path]
        if error.validator == "required":
            _missing(report, where, prefix, error.validator_value, error.instance, str(state))
        elif path[:1] == ["failCode"] and error.validator == "enum":
            report.enums.append(
                Finding(where, f"{prefix}.failCode: {error.instance!r} is not a documented code")
            )
    _warn_unknown(report, where, undeclared(source.schema(name), data, prefix))


def _classify(report: DriftReport, where: str, schema: str, body: Any) -> None:
    """Missing required fields anywhere in a body that should match `schema`."""
    stack = list(source.validator(schema).iter_errors(body))
    while stack:
        error = stack.pop()
        stack.extend(error.context or [])
        if error.validator == "required":
            prefix = ".".join(str(part) for part in error.absolute_path) or "(root)"
            _missing(report, where, prefix, error.validator_value, error.instance, schema)


def _missing(
    report: DriftReport, where: str, prefix: str, required: object, instance: object, what: str
) -> None:
    if not isinstance(required, list) or not isinstance(instance, dict):
        return
    for name in required:
        if name not in instance:
            finding = Finding(where, f"{prefix}.{name} is missing (required in {what})")
            if finding not in report.missing:
                report.missing.append(finding)


def _warn_unknown(report: DriftReport, where: str, paths: Iterable[str]) -> None:
    for path in paths:
        finding = Finding(where, f"{path} is not declared by the schemas")
        if finding not in report.unknown:
            report.unknown.append(finding)
