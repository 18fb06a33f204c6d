"""Fuzz every operation of /openapi.json, public and admin, with Schemathesis; count server errors.

Drives an in-process mock through WSGI (no sockets, no callbacks sent), or a
served one with `--url`. A scenario an example loads is cleared right after
it, so that every 5xx counted is the mock failing, not a rule asking for one.

    PYTHONPATH=. .venv/bin/python bench/fuzz.py --examples 100 --seed 1
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, given

from mock_server.core.callbacks import SendResult
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.app import create_app

HEADERS = {
    "Authorization": "Bearer fuzz-key-0001",
    # With no token configured any value will do: it lets bodiless admin writes through.
    "X-Apixo-Mock-Admin-Token": "fuzz",
}
CLEAR = ("DELETE", "/__admin/scenarios/active")
SCENARIO_OPERATIONS = ("/__admin/scenarios/active", "/__admin/scenarios/active/rules")
KNOWN_TYPES = ("application/json", "image/png")


class NoSender:
    """Callbacks are never sent: the service's threads are not started."""

    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        return SendResult(status=200, error=None, latency_ms=0.0)


@dataclass
class Tally:
    """What the fuzz run sent and saw."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[dict[str, Any]] = field(default_factory=list)
    not_json: list[str] = field(default_factory=list)

    def record(self, case: Any, response: Any) -> None:
        """Count one answer; keep the first few 5xx and non-JSON answers for the report."""
        self.requests += 1
        self.statuses[response.status_code] += 1
        where = f"{case.method.upper()} {case.formatted_path}"
        if response.status_code >= 500 and len(self.server_errors) < 20:
            sent = {"query": case.query, "body": case.body}
            self.server_errors.append(
                {"call": where, "sent": repr(sent)[:500], "answer": response.text[:300]}
            )
        headers = {name.lower(): value for name, value in response.headers.items()}
        content_type = headers.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        if response.status_code != 204 and not content_type.startswith(KNOWN_TYPES):
            self.not_json.append(f"{where} -> {response.status_code} {content_type!r}")

    def summary(self) -> dict[str, Any]:
        """The figures as JSON."""
        return {
            "requests": self.requests,
            "serverErrors": sum(n for status, n in self.statuses.items() if status >= 500),
            "notJson": len(self.not_json),
            "statuses": dict(sorted(self.statuses.items())),
            "firstServerErrors": self.server_errors,
            "firstNotJson": self.not_json[:20],
        }


def load_schema(url: str | None) -> Any:
    """The mock's OpenAPI document, bound to a served mock or to a fresh in-process app."""
    if url:
        return schemathesis.openapi.from_url(f"{url}/openapi.json")
    settings = Settings(seed=1, access_log=False, profile="instant")
    app = create_app(service=MockService(settings, sender=NoSender()))
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


def fuzz_operation(operation: Any, tally: Tally, examples: int, seed: int) -> None:
    """Run `examples` generated cases of one operation, counting every answer."""
    clears = operation.path in SCENARIO_OPERATIONS

    @hypothesis.seed(seed)
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @given(operation.as_strategy())
    def run(case: Any) -> None:
        tally.record(case, case.call(headers=HEADERS))
        if clears:
            clear = operation.schema["/__admin/scenarios/active"]["DELETE"].Case()
            clear.call(headers=HEADERS)

    run()


def main(argv: list[str] | None = None) -> int:
    """Fuzz, print the figures as JSON; exit 1 if any server error was seen."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="examples per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", help="a served mock's base URL (default: in-process)")
    args = parser.parse_args(argv)
    schema = load_schema(args.url)
    tally = Tally()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        fuzz_operation(operation, tally, args.examples, args.seed)
    figures = {"operations": len(operations), "examplesPerOperation": args.examples}
    print(json.dumps(figures | tally.summary(), indent=2))
    return 1 if tally.summary()["serverErrors"] else 0


if __name__ == "__main__":
    sys.exit(main())
