"""Who may open the dashboard and post its forms: the admin API's rule, a token cookie, CSRF.

Flask's test client, no browser: these are the protections a hostile page
would have to get past, each tried directly.
"""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from mock_server.core.service import MockService
from mock_server.settings import Settings
from mock_server.web.app import create_app
from mock_server.web.ui.access import CSRF_COOKIE, PATH, TOKEN_COOKIE

from ..conftest import AUTH, SUBMIT, RecordingSender, submit_body

TOKEN = "s3cret-admin-token"


def csrf(client: FlaskClient, page: str = "/clock") -> str:
    """Open a page as a browser would; the CSRF token its forms carry."""
    html = client.get(PATH + page).get_data(as_text=True)
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def served(settings: Settings) -> FlaskClient:
    service = MockService(settings.core_config(), sender=RecordingSender())
    return create_app(service=service).test_client()


def test_a_page_sets_a_strict_path_scoped_csrf_cookie_and_a_strict_csp(
    client: FlaskClient,
) -> None:
    answer = client.get(PATH + "/clock")  # a page with forms
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(CSRF_COOKIE + "=")
    assert f"Path={PATH}" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def test_a_form_without_the_csrf_token_is_refused(
    client: FlaskClient, service: MockService
) -> None:
    before = service.clock_view().now
    csrf(client)  # the browser has the cookie, but the form does not carry the token
    refused = client.post(PATH + "/clock/advance", data={"step": "30 s"})
    wrong = client.post(PATH + "/clock/advance", data={"step": "30 s", "csrf": "guess"})
    assert (refused.status_code, wrong.status_code) == (403, 403)
    assert service.clock_view().now == before


def test_a_form_with_the_csrf_token_acts_and_answers_303_back(
    client: FlaskClient, service: MockService
) -> None:
    before = service.clock_view().now
    answer = client.post(PATH + "/clock/advance", data={"step": "30 s", "csrf": csrf(client)})
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith(PATH + "/clock?done=")
    assert service.clock_view().now == before + 30_000


def test_a_form_posted_from_another_origin_is_refused(
    client: FlaskClient, service: MockService
) -> None:
    before = service.clock_view().now
    answer = client.post(
        PATH + "/clock/advance",
        data={"step": "30 s", "csrf": csrf(client)},
        headers={"Origin": "http://evil.example"},
    )
    assert answer.status_code == 403
    assert service.clock_view().now == before


def test_a_dns_rebound_host_name_is_refused(client: FlaskClient) -> None:
    answer = client.get(PATH, headers={"Host": "evil.example"})
    assert answer.status_code == 403
    assert "not loopback" in answer.get_data(as_text=True)


def test_without_a_token_the_dashboard_is_off_unless_bound_to_loopback() -> None:
    client = served(Settings(host="0.0.0.0", access_log=False))
    assert client.get(PATH).status_code == 404


def test_with_a_token_a_browser_gets_the_login_form_first() -> None:
    client = served(Settings(host="0.0.0.0", admin_token=TOKEN, access_log=False))
    answer = client.get(PATH)
    assert answer.status_code == 401
    assert 'id="token"' in answer.get_data(as_text=True)


def test_the_token_given_once_is_kept_in_a_cookie_only_the_dashboard_gets() -> None:
    client = served(Settings(host="0.0.0.0", admin_token=TOKEN, access_log=False))
    token_form = csrf_of_login(client)
    answer = client.post(PATH + "/login", data={"token": TOKEN, "csrf": token_form})
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith(TOKEN_COOKIE))
    assert f"Path={PATH}" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert client.get(PATH).status_code == 200
    assert client.get("/__admin/health").status_code == 401  # the admin API wants the header


def test_a_wrong_token_opens_nothing() -> None:
    client = served(Settings(host="0.0.0.0", admin_token=TOKEN, access_log=False))
    answer = client.post(PATH + "/login", data={"token": "nope", "csrf": csrf_of_login(client)})
    assert answer.status_code == 401
    assert client.get(PATH).status_code == 401


def test_the_token_header_opens_the_dashboard_too() -> None:
    client = served(Settings(host="0.0.0.0", admin_token=TOKEN, access_log=False))
    assert client.get(PATH, headers={"X-Apixo-Mock-Admin-Token": TOKEN}).status_code == 200


def csrf_of_login(client: FlaskClient) -> str:
    """The CSRF token of the login form."""
    html = client.get(PATH + "/login").get_data(as_text=True)
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_no_page_shows_a_key_in_full(client: FlaskClient) -> None:
    assert client.post(SUBMIT, json=submit_body(), headers=AUTH).status_code == 200
    key = AUTH["Authorization"].split()[1]
    for page in ("", "/keys", "/callbacks"):
        html = client.get(PATH + page).get_data(as_text=True)
        assert key not in html
    assert "...1234" in client.get(PATH + "/keys").get_data(as_text=True)


def test_a_live_region_is_served_alone_with_partial(client: FlaskClient) -> None:
    assert client.post(SUBMIT, json=submit_body(), headers=AUTH).status_code == 200
    fragment = client.get(PATH + "?partial=1").get_data(as_text=True)
    assert "<tr>" in fragment
    assert "<html" not in fragment


def test_bad_filters_and_unknown_tasks_get_an_error_page_not_a_500(client: FlaskClient) -> None:
    for path, status in (("?state=bogus", 400), ("?size=7", 400), ("?before=x", 400),
                         ("/tasks/task_nope", 404), ("/keys?status=abc", 400)):  # fmt: skip
        answer = client.get(PATH + path)
        assert (path, answer.status_code, answer.mimetype) == (path, status, "text/html")


def test_no_dashboard_route_answers_5xx_to_any_method(client: FlaskClient) -> None:
    assert client.post(SUBMIT, json=submit_body(), headers=AUTH).status_code == 200
    rules = [r.rule for r in client.application.url_map.iter_rules() if r.rule.startswith(PATH)]
    assert len(rules) >= 12
    for rule in rules:
        path = re.sub(r"<(?:\w+:)?\w+>", "x", rule)
        for method in ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"):
            answer = client.open(path, method=method)
            assert answer.status_code < 500, f"{method} {path}"
