"""The drift report as text for a person, JSON for a script, JUnit XML for a CI dashboard."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import yaml

from .drift import DriftReport, Finding, judge
from .exchange import RecordingError, load_recording
from .stats import emitted_profile, realistic

_SECTIONS = (
    ("broken", "Rules broken"),
    ("missing", "Missing required fields"),
    ("enums", "New enum values (states, failCodes)"),
    ("unknown", "New fields the schemas do not declare (warnings)"),
)


def as_dict(report: DriftReport, source: str) -> dict[str, Any]:
    """The whole report as JSON-ready data."""
    return {
        "recording": source,
        "exchanges": report.exchanges,
        "ok": not report.failed,
        "rulesHeld": report.held,
        "rulesBroken": [_finding(f) for f in report.broken],
        "missingFields": [_finding(f) for f in report.missing],
        "newEnumValues": [_finding(f) for f in report.enums],
        "newFields": [_finding(f) for f in report.unknown],
        "statusCodes": {
            name: {str(code): count for code, count in sorted(counts.items())}
            for name, counts in sorted(report.statuses.items())
        },
        "timing": {model: timing.summary() for model, timing in sorted(report.timing.items())},
        "realisticProfile": realistic(),
    }


def _finding(finding: Finding) -> dict[str, str]:
    shown = {"file": finding.where, "detail": finding.detail}
    return {"rule": finding.rule, **shown} if finding.rule else shown


def as_text(report: DriftReport, source: str) -> str:
    """The report as a person reads it: verdict first, then each section that has content."""
    verdict = "BROKEN" if report.failed else "OK"
    lines = [f"apixo-mock drift: {report.exchanges} exchanges in {source}: contract {verdict}"]
    lines.append(f"Rules held ({len(report.held)}): {', '.join(report.held) or 'none'}")
    for attribute, title in _SECTIONS:
        findings: list[Finding] = getattr(report, attribute)
        if findings:
            lines.append(f"{title} ({len(findings)}):")
            lines += [f"  {f.where}: {f.rule + ': ' if f.rule else ''}{f.detail}" for f in findings]
    lines.append("Status codes per endpoint:")
    for name, counts in sorted(report.statuses.items()):
        shown = ", ".join(f"{code} x{count}" for code, count in sorted(counts.items()))
        lines.append(f"  {name}: {shown}")
    lines += _timing_lines(report)
    return "\n".join(lines) + "\n"


def _timing_lines(report: DriftReport) -> list[str]:
    profile = realistic()
    lines = [
        "Timing per model, ms (min/median/p90/max); the mock's realistic profile: pending"
        f" {profile['pending_ms']}, processing {profile['processing_min_ms']}"
        f"-{profile['processing_max_ms']}"
    ]
    for model, timing in sorted(report.timing.items()):
        summary = timing.summary()
        parts = [f"{timing.tasks} task(s)"]
        for key, label in (("pendingMs", "pending"), ("processingMs", "processing"),
                           ("costTimeMs", "costTime")):  # fmt: skip
            figures = summary[key]
            if figures:
                parts.append(f"{label} {'/'.join(str(v) for v in figures.values())}")
        lines.append(f"  {model}: {'; '.join(parts)}")
    return lines


def as_json(report: DriftReport, source: str) -> str:
    """The report as indented JSON."""
    return json.dumps(as_dict(report, source), indent=2) + "\n"


def write_junit(report: DriftReport, source: str, path: Path) -> None:
    """JUnit XML: one test case per rule held or broken, one per drift category."""
    suite = ElementTree.Element("testsuite", name="apixo-mock drift", tests="0", failures="0")
    ElementTree.SubElement(
        ElementTree.SubElement(suite, "properties"), "property", name="recording", value=source
    )
    cases = 0
    failures = 0
    for rule in sorted(report.checked):
        cases += 1
        case = ElementTree.SubElement(suite, "testcase", classname="contract", name=rule)
        found = [f for f in report.broken if f.rule == rule]
        if found:
            failures += 1
            _fail(case, found)
    for attribute, title in _SECTIONS[1:]:
        cases += 1
        case = ElementTree.SubElement(suite, "testcase", classname="drift", name=title)
        findings: list[Finding] = getattr(report, attribute)
        if attribute == "unknown":
            if findings:
                out = ElementTree.SubElement(case, "system-out")
                out.text = "\n".join(f"{f.where}: {f.detail}" for f in findings)
        elif findings:
            failures += 1
            _fail(case, findings)
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    path.write_bytes(ElementTree.tostring(suite, encoding="utf-8", xml_declaration=True))


def _fail(case: ElementTree.Element, findings: list[Finding]) -> None:
    failure = ElementTree.SubElement(case, "failure", message=findings[0].detail[:200])
    failure.text = "\n".join(f"{f.where}: {f.detail}" for f in findings)


def write_profile(profile: dict[str, int], source: str, path: Path) -> None:
    """A settings file (`apixo-mock serve --config FILE`) that times tasks like the recording."""
    header = (
        f"# Timing derived from the recording {source} by `apixo-mock drift --emit-profile`.\n"
        "# pending_ms: median pending time; processing_*: the shortest and longest processing.\n"
    )
    path.write_text(header + yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")


def run_drift(
    directory: str,
    output: str,
    junit: str | None,
    emit_profile: str | None,
    say: Callable[..., None],
) -> int:
    """`apixo-mock drift`: print, write extras; exit 1 if the contract broke, 2 if unreadable."""
    try:
        exchanges = load_recording(directory)
    except RecordingError as exc:
        say(f"apixo-mock drift: error: {exc}", err=True)
        return 2
    report = judge(exchanges)
    say(as_json(report, directory) if output == "json" else as_text(report, directory), nl=False)
    if junit:
        write_junit(report, directory, Path(junit))
    if emit_profile:
        profile = emitted_profile(report.timing)
        if profile is None:
            say("apixo-mock drift: error: no finished task to derive a profile from", err=True)
            return 2
        write_profile(profile, directory, Path(emit_profile))
    return 1 if report.failed else 0
