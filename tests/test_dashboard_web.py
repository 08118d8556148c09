"""Dashboard web layer without a browser: authentication, headers, CSRF, upload limit.

One app per module (building it takes a few seconds); requests go through Flask's test client.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from dashboard.app import DashboardConfig, create_app
from dashboard.auth import (
    Credentials,
    CredentialsError,
    generated_credentials,
    hash_password,
    load_credentials,
    read_users_file,
)
from dashboard.services import AnalysisSettings

USER, PASSWORD = "analyst1", "correct horse battery"


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


GOOD = _basic(USER, PASSWORD)


def _get(client, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    """GET and close the response (static files are streamed from open files)."""
    r = client.get(path, headers=headers)
    r.get_data()
    r.close()
    return r


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    config = DashboardConfig(
        credentials=Credentials({USER: hash_password(PASSWORD)}, "test"),
        data_dir=tmp_path_factory.mktemp("dash"),
        max_upload_bytes=200_000,
        analysis=AnalysisSettings(reps=49, draws=200),
        mc_draws=200,
    )
    return create_app(config)


@pytest.fixture()
def client(app):  # type: ignore[no-untyped-def]
    return app.server.test_client()


def _asset_paths(client) -> list[str]:  # type: ignore[no-untyped-def]
    html = client.get("/", headers=GOOD).get_data(as_text=True)
    return sorted(set(re.findall(r'(?:href|src)="(/[^"]+)"', html)))


def test_every_route_refuses_unauthenticated_requests(client) -> None:  # type: ignore[no-untyped-def]
    paths = ["/", "/reports", "/effects", "/value-for-money", "/data", "/method", "/no-such-page"]
    paths += ["/pilot-design"]
    paths += ["/reports/2024-25/report.html", "/reports/2024-25/workbook.xlsx"]
    paths += ["/_dash-layout", "/_dash-dependencies", "/_favicon.ico"]
    paths += _asset_paths(client)
    assert any(p.startswith("/assets/") for p in paths)
    assert any("dash_renderer" in p or "_dash-component-suites" in p for p in paths)
    for path in paths:
        for headers in ({}, _basic(USER, "wrong"), _basic("nobody", PASSWORD)):
            r = _get(client, path, headers)
            assert r.status_code == 401, (path, headers, r.status_code)
            assert r.headers["WWW-Authenticate"].startswith("Basic ")
            assert b"Sign in" in r.data
    body = {"output": "page-content.children", "outputs": {}, "inputs": [], "changedPropIds": []}
    r = client.post("/_dash-update-component", json=body)
    assert r.status_code == 401


def test_authenticated_pages_and_assets_are_served(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/", headers=GOOD)
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert '<html lang="en-GB"' in text
    for path in _asset_paths(client):
        assert _get(client, path, GOOD).status_code == 200, path
    css = _get(client, "/assets/govuk-frontend.min.css", GOOD).get_data(as_text=True)
    assert "GDS Transport" not in css and "@font-face" not in css
    assert "font-family:arial,sans-serif" in css


def test_nothing_is_loaded_from_outside(client) -> None:  # type: ignore[no-untyped-def]
    text = client.get("/", headers=GOOD).get_data(as_text=True)
    assert not re.search(r'(?:href|src)="(?:https?:)?//', text)
    layout = client.get("/_dash-layout", headers=GOOD).get_data(as_text=True)
    assert "http://" not in layout and "https://" not in layout


def test_security_headers(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/", headers=GOOD)
    h = r.headers
    csp = h["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    script = re.search(r"script-src ([^;]+)", csp)
    assert script is not None
    assert "'unsafe-inline'" not in script.group(1) and "'unsafe-eval'" not in script.group(1)
    assert "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "SAMEORIGIN"
    assert h["Referrer-Policy"] == "no-referrer"
    assert h["Cache-Control"] == "no-store"
    cookies = h.get_all("Set-Cookie")
    assert any(c.startswith("_csrf_token=") and "SameSite=Strict" in c for c in cookies)


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    client.get("/", headers=GOOD)
    cookie = client.get_cookie("_csrf_token")
    assert cookie is not None
    return str(cookie.value)


def _route_body(pathname: str) -> dict[str, object]:
    return {
        "output": "..page-content.children...primary-navigation.children..."
        "dataset-token.data...title-sink.data..",
        "outputs": [
            {"id": "page-content", "property": "children"},
            {"id": "primary-navigation", "property": "children"},
            {"id": "dataset-token", "property": "data"},
            {"id": "title-sink", "property": "data"},
        ],
        "inputs": [{"id": "url", "property": "pathname", "value": pathname}],
        "changedPropIds": ["url.pathname"],
        "state": [],
    }


def test_callbacks_need_a_csrf_token(client) -> None:  # type: ignore[no-untyped-def]
    body = _route_body("/data")
    r = client.post("/_dash-update-component", json=body, headers=GOOD)
    assert r.status_code == 400
    assert b"CSRF" in r.data
    token = _csrf(client)
    r = client.post("/_dash-update-component", json=body, headers={**GOOD, "X-CSRFToken": token})
    assert r.status_code == 200
    out = r.get_json()["response"]
    assert "Upload a file" in json.dumps(out["page-content"])
    assert re.fullmatch(r"([0-9a-f]{64}\.csv,){2}[0-9a-f]{64}\.csv", out["dataset-token"]["data"])
    # the current page is marked for assistive technology
    assert '"aria-current": "page"' in json.dumps(out["primary-navigation"])


def test_upload_over_the_limit_is_refused_by_the_server(client) -> None:  # type: ignore[no-untyped-def]
    token = _csrf(client)
    big = base64.b64encode(b"x" * 400_000).decode()
    body = {
        "output": "upload-status.children",
        "outputs": {"id": "upload-status", "property": "children"},
        "inputs": [{"id": "upload-file", "property": "contents", "value": big}],
        "changedPropIds": ["upload-file.contents"],
        "state": [],
    }
    r = client.post("/_dash-update-component", json=body, headers={**GOOD, "X-CSRFToken": token})
    assert r.status_code == 413


# --------------------------------------------------------------------------------------------
# credentials
# --------------------------------------------------------------------------------------------


def test_credentials_from_environment() -> None:
    creds = load_credentials({"PATHFINDER_USER": "amy", "PATHFINDER_PASSWORD": "s3cret!"})
    assert creds is not None
    assert creds.verify("amy", "s3cret!")
    assert not creds.verify("amy", "s3cret")
    assert not creds.verify("bob", "s3cret!")
    assert creds.users["amy"] != "s3cret!" and "$" in creds.users["amy"]  # salted hash only
    assert load_credentials({}) is None
    with pytest.raises(CredentialsError, match="both"):
        load_credentials({"PATHFINDER_USER": "amy"})


def test_credentials_from_users_file(tmp_path: Path) -> None:
    path = tmp_path / "users.txt"
    path.write_text(
        f"# analysts\namy:{hash_password('one')}\n\nbob:{hash_password('two')}\n",
        encoding="utf-8",
    )
    creds = load_credentials({"PATHFINDER_USERS_FILE": str(path), "PATHFINDER_USER": "x"})
    assert creds is not None and set(creds.users) == {"amy", "bob"}
    assert creds.verify("bob", "two") and not creds.verify("bob", "one")
    path.write_text("amy:plaintext\n", encoding="utf-8")
    with pytest.raises(CredentialsError, match=r"users.txt, line 1: .*not a salted hash"):
        read_users_file(path)
    path.write_text(f"amy:{hash_password('a')}\namy:{hash_password('b')}\n", encoding="utf-8")
    with pytest.raises(CredentialsError, match="line 2: user 'amy' appears twice"):
        read_users_file(path)


def test_generated_password_is_random_and_works() -> None:
    a, b = generated_credentials(), generated_credentials()
    assert a.generated_password and b.generated_password
    assert a.generated_password != b.generated_password
    assert len(a.generated_password) >= 20
    assert a.verify("analyst", a.generated_password)
    assert not a.verify("analyst", b.generated_password)


def test_what_if_answers_first_and_a_change_ends_the_running_uncertainty_job(app) -> None:  # type: ignore[no-untyped-def]
    """The headline's answer starts the uncertainty job; any input change cancels that job."""
    from dashboard import ids
    from dashboard.pages.value_for_money import _CONTROLS

    callbacks = app.callback_map
    (unc,) = [cb for k, cb in callbacks.items() if k == f"{ids.VFM.UNCERTAINTY}.children"]
    assert [i["id"] for i in unc["inputs"]] == [ids.VFM.SETTLED]
    # the headline's inputs reach it once settled (a debounce in the browser)
    (settle,) = [cb for k, cb in callbacks.items() if k == f"{ids.VFM.SETTLED}.id"]
    assert [i["id"] for i in settle["inputs"]] == [ids.VFM.APPLIED]
    (spec,) = [cb for cb in app._callback_list if cb["output"] == f"{ids.VFM.SETTLED}.id"]
    assert spec["clientside_function"] == {"namespace": "pathfinder", "function_name": "settle"}
    cancels = {c["id"] for c in unc["background"]["cancel"]}
    assert cancels == {ids.VFM.CANCEL_MC, *_CONTROLS}
    (head,) = [cb for k, cb in callbacks.items() if f"{ids.VFM.APPLIED}.data" in k]
    assert {i["id"] for i in head["inputs"]} == set(_CONTROLS)


def test_the_served_plotly_bundle_is_the_plotly_js_of_the_figures() -> None:
    """The app serves plotly.js's small 'basic' bundle (bar, scatter, pie) instead of the full
    one; it must be the plotly.js version the figures are made for."""
    import re

    import plotly

    def version(text: str) -> str:
        found = re.search(r"plotly\.js(?: \([^)]*\))? v(\d+\.\d+\.\d+)", text[:400])
        assert found, text[:200]
        return found.group(1)

    assets = Path(__file__).resolve().parent.parent / "dashboard" / "assets"
    served = (assets / "plotly-basic.min.js").read_text(encoding="utf-8")[:400]
    full = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert version(served) == version(full.read_text(encoding="utf-8")[:400])
    assert (assets / "plotly-LICENCE.txt").exists()


def test_the_page_loads_no_component_it_does_not_use(client) -> None:  # type: ignore[no-untyped-def]
    """Components are loaded when first used (no mathjax, markdown or full plotly up front)."""
    page = _get(client, "/", _basic(USER, PASSWORD)).get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert any("plotly-basic.min.js" in s for s in scripts)
    for unused in ("async-mathjax", "async-markdown", "async-datepicker", "package_data/plotly"):
        assert not any(unused in s for s in scripts), unused
