"""The net: hostile strings in every descriptor text field (through validate and submit, by the API and the
submit page), in every path segment and query parameter of every GET route of the app's url_map, and in every
export format. Whatever arrives, no answer is 5xx.

Derandomised and bounded (about a minute per database on a loaded machine); the counts of inputs tried and
5xx answers seen are printed at the end of the module. Each defect of issue 16 has its case here as well as
its own test in test_hardening.py: a licence the SPDX library cannot read, NUL bytes on PostgreSQL, addresses
no IRI may hold in the Turtle export, CR/LF in the sign-in next=.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from catalogue import exceptions
from catalogue.auth import accounts, actors
from catalogue.db import db
from catalogue.exceptions import DescriptorError
from catalogue.services import descriptors, workflow
from catalogue.services.models import Service
from tests.conftest import DATA, app_on_empty_database

GOOD_TEXT = (DATA / "good.yaml").read_text("utf-8")
GOOD = yaml.safe_load(GOOD_TEXT)
PASSWORD = "a long enough test password"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# What attackers and careless clients send: control characters, unpaired surrogates, direction marks,
# characters no IRI may hold, template and markup syntax, SPDX-like garbage, path tricks, and very long text.
HOSTILE = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\r\n",
    "\r\nSet-Cookie: x=1",
    "\n",
    "\t",
    "\u202e",
    "\u200f",
    "\u2066",
    "\ufeff",
    "\u0301",
    "{",
    "}",
    "<",
    ">",
    '"',
    "|",
    "\\",
    "^",
    "`",
    " ",
    "{{7*7}}",
    "${7*7}",
    "{% raw %}",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "'; DROP TABLE services; --",
    "MIT AND",
    "MIT OR",
    "()",
    "(",
    ")",
    "'",
    "%",
    "%00",
    "%zz",
    "x>",
    "MIT WITH",
    "LicenseRef-",
    "GPL-2.0+ AND (",
    "..",
    "../..",
    "/",
    "//",
    "%2e%2e",
    "~",
    "#",
    "?",
    "&",
    "=",
    "*",
    ":",
    "@",
    "é",
    "😀",
    "ﬀ",
    "\u0000" * 3,
    "0",
    "-1",
    "1e400",
    "NaN",
    "null",
    "true",
    "[]",
    "{}",
    "a" * 10_000,
]
TEXT = st.one_of(
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=4), min_size=1, max_size=5).map("".join),
    st.text(max_size=30),
)

TALLY: Counter[str] = Counter()
SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


def _answered(response: Any, what: str) -> None:
    """Count one answer; fail on a 5xx with what was sent."""
    TALLY["inputs"] += 1
    response.close()  # a file sent as it is (a schema, a static file) is closed only here
    if response.status_code >= 500:
        TALLY["5xx"] += 1
        raise AssertionError(f"{response.status_code} for {what[:300]!r}: {response.get_data(as_text=True)[:500]}")


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """An app with two approved services, an admin with a password, and the counts printed at the end."""
    started = time.monotonic()
    with app_on_empty_database(tmp_path_factory.mktemp("hostile")) as app:
        with app.app_context(), db.transaction() as session:
            _user, token = accounts.create_user(session, "fuzz@istat.example", "ISTAT", "admin", password=PASSWORD)
        with app.app_context():
            for slug in ("demo-linkage", "second-service"):
                with db.transaction() as session:
                    text = GOOD_TEXT.replace("id: demo-linkage", f"id: {slug}")
                    workflow.submit_version(session, actors.SYSTEM, descriptors.parse(text), "yaml", "approved")
        app.config["FUZZ_TOKEN"] = token
        yield app
    line = (
        f"hostile requests: {TALLY['inputs']} inputs tried, {TALLY['5xx']} answers >= 500 "
        f"({time.monotonic() - started:.0f} s, database {app.config['CATALOGUE'].database_url.split(':')[0]})"
    )
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():  # shown in the test run's output, not only on failure
        print("\n" + line)


@pytest.fixture(scope="module")
def signed_in(hostile_app: Flask) -> tuple[FlaskClient, str]:
    """A client signed in as the admin (every page is open to it), and its CSRF token."""
    client = hostile_app.test_client()
    token = _CSRF.search(client.get("/auth/sign-in").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/auth/sign-in", data={"email": "fuzz@istat.example", "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 302
    page = client.get("/submit").get_data(as_text=True)
    return client, _CSRF.search(page).group(1)  # type: ignore[union-attr]


# --- every descriptor text field, through validate and submit -----------------------------------


def _text_places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every string in value (and of every key, marked by a trailing None)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, str):
        found.append(path)
    elif isinstance(value, dict):
        for key, child in value.items():
            found.append((*path, key, None))
            found += _text_places(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _text_places(child, (*path, i))
    return found


TEXT_PLACES = _text_places(GOOD)
COUNTER = iter(range(10**9))


def _shaped(place: tuple[Any, ...], text: str) -> str:
    """text inside the shape its field asks for (an address, an e-mail, a version), so it passes the schema's
    pattern and reaches what comes after: storage, the pages and every export."""
    field = place[-1] if place else None
    if field in ("documentation", "homepage", "source", "url", "endpoint"):
        return "https://example.org/" + text
    if field == "email":
        return text.replace("@", "").replace(" ", "") + "x@example.org"
    if field == "licence":
        return "MIT AND " + text
    return text


def _with(place: tuple[Any, ...], text: str) -> dict[str, Any]:
    content = copy.deepcopy(GOOD)
    content["id"] = f"fuzz-{next(COUNTER)}"  # every accepted submission is a new service
    parent: Any = content
    if place and place[-1] is None:  # a key
        *inside, key, _ = place
        for part in inside:
            parent = parent[part]
        parent[text] = parent.pop(key)
        return content
    for part in place[:-1]:
        parent = parent[part]
    parent[place[-1]] = text
    return content


def _body(content: dict[str, Any], fmt: str) -> tuple[bytes, str]:
    if fmt == "json":
        return json.dumps(content, ensure_ascii=True).encode("ascii"), "application/json"
    text = yaml.safe_dump(content, allow_unicode=False, sort_keys=False)
    return text.encode("ascii"), "application/yaml"


@settings(SETTINGS, max_examples=140)
@given(place=st.sampled_from(TEXT_PLACES), text=TEXT, shaped=st.booleans(), fmt=st.sampled_from(["yaml", "json"]))
def test_hostile_text_in_any_descriptor_field(
    hostile_app: Flask, signed_in: tuple[FlaskClient, str], place: tuple[Any, ...], text: str, shaped: bool, fmt: str
) -> None:
    content = _with(place, _shaped(place, text) if shaped else text)
    body, media_type = _body(content, fmt)
    client = hostile_app.test_client()
    what = f"{place} = {text!r} as {fmt}"
    _answered(client.post("/api/v1/validate", data=body, content_type=media_type), "validate " + what)
    auth = {"Authorization": f"Bearer {hostile_app.config['FUZZ_TOKEN']}"}
    _answered(client.post("/api/v1/services", data=body, content_type=media_type, headers=auth), "submit " + what)
    if fmt == "yaml":  # the submit page: the same text in a form field
        page, csrf = signed_in
        form = {"descriptor": body.decode("ascii"), "action": "draft", "csrf_token": csrf}
        _answered(page.post("/submit", data=form), "submit page " + what)


# --- every GET route: path segments and query parameters ----------------------------------------


def _get_rules(app: Flask) -> list[tuple[str, list[tuple[str, str]]]]:
    """(rule, [(argument, converter)]) of every GET route but static files."""
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and rule.endpoint != "static":
            found.append((rule.rule, [(name, type(conv).__name__) for name, conv in rule._converters.items()]))  # type: ignore[attr-defined]
    return sorted(found)


def _query_names(app: Flask) -> list[str]:
    """Every query parameter the API documents, and those the pages read."""
    names = {"q", "page", "per_page", "sort", "organisation", "status", "next", "level", "start", "sp", "saved", "kind"}
    spec = app.test_client().get("/api/openapi.json").json
    for operations in spec["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "query":
                    names.add(parameter["name"])
    return sorted(names)


VALID = {
    "slug": "demo-linkage",
    "version": "1.0.0",
    "name": "Unit Data Set",
    "filename": "cspa-service-descriptor.schema.json",
}
HEADERS = ["Accept", "If-None-Match", "If-Modified-Since", "X-Request-ID", "Authorization", "Accept-Language"]


@pytest.fixture(scope="module")
def routes(hostile_app: Flask) -> tuple[list[tuple[str, list[tuple[str, str]]]], list[str]]:
    rules = _get_rules(hostile_app)
    assert len(rules) >= 40, "fewer GET routes than the app had when this test was written"
    return rules, _query_names(hostile_app)


def _segment(text: str) -> str:
    # A lone surrogate has no UTF-8 form: sent as the bytes a careless encoder would produce.
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@settings(SETTINGS, max_examples=550)
@given(data=st.data())
def test_hostile_text_in_any_get_route(
    hostile_app: Flask, signed_in: tuple[FlaskClient, str], routes: Any, data: st.DataObject
) -> None:
    rules, names = routes
    rule, arguments = data.draw(st.sampled_from(rules))
    url = rule
    for name, converter in arguments:
        if converter == "AnyConverter":
            value = "json"
        elif converter == "IntegerConverter":
            value = str(data.draw(st.integers(-1, 2**31 + 1)))
        else:
            value = _segment(data.draw(st.sampled_from([VALID.get(name, "x")]) | TEXT))
        url = re.sub(rf"<[^>]*\b{name}>", value, url)
    query = data.draw(st.lists(st.tuples(st.sampled_from(names) | TEXT, TEXT), max_size=3))
    if query:
        url += "?" + urlencode(
            [(k.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass")) for k, v in query]
        )
    headers = {}
    header = data.draw(st.none() | st.sampled_from(HEADERS))
    if header is not None:
        value = data.draw(TEXT).encode("utf-8", "surrogatepass").decode("latin-1")
        if not re.search(r"[\x00-\x1f\x7f]", value):  # a server refuses control characters in headers before the app
            headers[header] = value
    client = data.draw(st.sampled_from(["anonymous", "signed in"]))
    browser = hostile_app.test_client() if client == "anonymous" else signed_in[0]
    _answered(browser.get(url, headers=headers), f"GET {url} {headers}")


# --- every export format, with the hostile services approved ------------------------------------


def test_every_export_format_and_page_with_hostile_services_approved(
    hostile_app: Flask, signed_in: tuple[FlaskClient, str]
) -> None:
    """Every text place of a descriptor holds a hostile string in some approved service; then every export and
    the pages that list them are read."""
    stored = 0
    with hostile_app.app_context():
        for i, place in enumerate(TEXT_PLACES):
            for n in range(3):
                content = _with(place, _shaped(place, HOSTILE[(i + 23 * n) % len(HOSTILE)]))
                try:
                    descriptor = descriptors.parse(_body(content, "json")[0], "json")
                    with db.transaction() as session:
                        workflow.submit_version(session, actors.SYSTEM, descriptor, "json", "approved")
                except (exceptions.RegistryError, DescriptorError):
                    continue  # refused: nothing to export
                stored += 1
    assert stored >= 30, stored  # most keys and many fields refuse hostile text, the free-text fields keep it
    client = hostile_app.test_client()
    urls = [
        str(rule.rule)
        for rule in hostile_app.url_map.iter_rules()
        if rule.rule.startswith(("/api/v1/export/", "/feeds/")) and "GET" in (rule.methods or ())
    ]
    assert len(urls) >= 6
    with hostile_app.app_context(), db.transaction() as session:
        slugs = list(session.scalars(select(Service.slug)))
    for url in urls:
        _answered(client.get(url), url)
    for slug in slugs:
        for url in (
            f"/services/{slug}/catalog-info.yaml",
            f"/services/{slug}/badge.svg",
            f"/services/{slug}",
            f"/api/v1/services/{slug}",
        ):
            _answered(client.get(url), url)
    for url in ("/", "/search", "/search?q=a", "/document/gsbpm", "/document/gsim/", "/review/"):
        _answered(signed_in[0].get(url), url)
    from catalogue.cli import main

    for fmt in ("json", "csv", "jsonld", "turtle", "backstage", "versions"):
        TALLY["inputs"] += 1
        result = hostile_app.test_cli_runner().invoke(main, ["export", "--format", fmt])
        assert result.exit_code == 0 and result.exception is None, (fmt, result.output[-2000:])
