"""Every route answers JSON in the envelope, whatever the method, and `/` and `/__admin` answer."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_server.core.clock import MockClock
from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.version import __version__
from mock_server.web.app import create_app
from tests.conftest import AUTH, RecordingSender, submit_body

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
SAMPLE = {"int": "0", "path": "k-1234"}
DASHBOARD = "/__admin/ui"


def concrete(rule: str) -> str:
    """A path that matches `rule`: every variable filled with a harmless value."""
    return CONVERTER.sub(lambda m: SAMPLE.get(m.group(1) or "", "x"), rule)


def doubled(path: str) -> str:
    """`path` with its first slash after the first segment doubled (`/api//v1/...`)."""
    head, _, tail = path[1:].partition("/")
    return f"/{head}//{tail}"


def app_with(clock: MockClock, sender: RecordingSender, **settings: object) -> Flask:
    service = MockService(
        Settings(seed=1, access_log=False).replace(**settings), sender=sender, clock=clock
    )
    return create_app(service=service)


def paths(app: Flask) -> list[str]:
    return sorted({concrete(rule.rule) for rule in app.url_map.iter_rules()})


def assert_envelope(client: FlaskClient, method: str, path: str) -> int:
    response = client.open(path, method=method, headers=AUTH)
    where = f"{method} {path}"
    assert response.status_code < 500, where
    assert response.mimetype == "application/json", where
    if method != "HEAD" and path != "/openapi.json":
        body = response.get_json()
        assert body["code"] == response.status_code, where
        assert set(body) == {"code", "message", "data"}, where
    return response.status_code


@pytest.mark.parametrize("cors", [None, "*"], ids=["no-cors", "cors-any"])
def test_every_rule_and_method_answers_json(
    clock: MockClock, sender: RecordingSender, cors: str | None
) -> None:
    app = app_with(clock, sender, cors=cors)
    client = app.test_client()
    # The dashboard's pages are HTML by design; tests/ui crawls them for 5xx.
    crawled = [(m, p) for p in paths(app) if not p.startswith(DASHBOARD) for m in METHODS]
    assert len(crawled) >= 7 * 20  # the admin routes are in the crawl
    for method, path in crawled:
        assert_envelope(client, method, path)


def test_a_doubled_or_trailing_slash_is_an_unknown_path_not_a_redirect(
    clock: MockClock, sender: RecordingSender
) -> None:
    app = app_with(clock, sender)
    client = app.test_client()
    for path in paths(app)[1:]:  # "/" doubled is "//", a URL with an empty host
        for method in ("GET", "POST"):
            assert assert_envelope(client, method, doubled(path)) == 404, doubled(path)
    fixed = [r.rule for r in app.url_map.iter_rules() if r.rule != "/" and "<path:" not in r.rule]
    for path in map(concrete, fixed):  # a path variable may end in a slash
        assert assert_envelope(client, "GET", path + "/") == 404, path + "/"
    submit = client.post("/api/v1//generateTask/gpt-image-1", json=submit_body(), headers=AUTH)
    assert submit.status_code == 404
    assert "Location" not in submit.headers


def test_options_is_a_json_405_with_allow(client: FlaskClient) -> None:
    for path in ("/openapi.json", "/results/x/0.png", "/__admin/health"):
        response = client.options(path)
        assert response.status_code == 405
        assert response.mimetype == "application/json"
        assert "GET" in response.headers["Allow"]


def test_root_points_to_openapi_docs_and_admin(client: FlaskClient) -> None:
    body = client.get("/").get_json()
    assert body["code"] == 200
    data = body["data"]
    assert data["openapi"] == "http://localhost/openapi.json"
    assert data["admin"] == "http://localhost/__admin"
    assert data["version"] == __version__
    assert "docs/admin-api.md" in data["docs"]


def test_admin_index_lists_every_admin_route_from_the_url_map(app: Flask) -> None:
    body = app.test_client().get("/__admin").get_json()
    assert body["code"] == 200
    listed = {(e["path"], m) for e in body["data"]["endpoints"] for m in e["methods"]}
    expected = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/__admin/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert listed == expected
    assert ("/__admin/callbacks/<task_id>/redeliver", "POST") in listed
    assert ("/__admin/accounts/<path:key>", "PATCH") in listed
    health = next(e for e in body["data"]["endpoints"] if e["path"] == "/__admin/health")
    assert health["summary"].startswith("Up, with the version")


def test_admin_index_is_guarded_and_absent_without_admin(
    clock: MockClock, sender: RecordingSender
) -> None:
    guarded = app_with(clock, sender, admin_token="t").test_client()
    assert guarded.get("/__admin").status_code == 401
    assert guarded.get("/__admin", headers={"X-Apixo-Mock-Admin-Token": "t"}).status_code == 200
    plain = app_with(clock, sender, admin=False).test_client()
    assert plain.get("/__admin").status_code == 404
    assert plain.get("/").get_json()["data"]["admin"] is None


def test_a_leading_doubled_slash_is_an_unknown_path(client: FlaskClient) -> None:
    # A base URL ending in `/` sends `//api/...`; routing alone strips leading slashes
    # and would serve it (the test client's URL parser reads `//api` as a host, so
    # the served path is set directly, as granian passes it, and as waitress does:
    # PATH_INFO stripped, the raw path in REQUEST_URI).
    for path in ("//api/v1/apikeys/current-balance", "//openapi.json", "//__admin/health", "//"):
        for served in ({"PATH_INFO": path}, {"PATH_INFO": path[1:], "REQUEST_URI": path}):
            response = client.get("/", headers=AUTH, environ_overrides=served)
            assert response.status_code == 404, served
            assert response.get_json() == {"code": 404, "message": "Not found", "data": None}
