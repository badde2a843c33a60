"""Walk the app's OpenAPI spec (issue 8): every operation without a session, with each refused role, with each allowed
role, against the role table in dashboard/roles.py; an operation missing from the table fails the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from staff_app import StaffClient, staff_hub

from dashboard.auth import ACCOUNT_ROLES
from dashboard.roles import POLICY, rule

# plausible values for path parameters by name (others: 1 for integers, "x" for strings)
PATH_VALUES = {"device_id": "W-1", "resident_id": "R-1", "username": "nobody", "source": "zigbee2mqtt", "fmt": "csv"}
QUERY_VALUES = {"integer": 1, "number": 1.0, "string": "x", "boolean": "true"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffClient]:
    with staff_hub(Path(tmp_path_factory.mktemp("hub"))) as made:
        yield made


def operations(client: StaffClient) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path template, operation) for every operation of the spec."""
    spec = client.app.openapi()
    return [(m.upper(), p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def _value(param: dict[str, Any]) -> Any:
    schema = param.get("schema", {})
    kind = schema.get("type") or next((s.get("type") for s in schema.get("anyOf", []) if s.get("type")), "string")
    return PATH_VALUES.get(param["name"], 1 if kind == "integer" else QUERY_VALUES.get(kind, "x"))


def request_of(path: str, op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The concrete path and the request arguments (required query parameters, a minimal JSON body)."""
    params = op.get("parameters", [])
    for p in params:
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", str(_value(p)))
    query = {p["name"]: _value(p) for p in params if p["in"] == "query" and p.get("required")}
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    return path, {"params": query, **({"json": body.get("example", {})} if body is not None else {})}


def test_every_operation_has_a_policy_entry(client: StaffClient) -> None:
    missing = [(m, p) for m, p, _ in operations(client) if rule(m, p) is None]
    assert not missing, f"routes without an entry in dashboard/roles.py: {missing}"


def test_the_table_names_no_route_that_does_not_exist(client: StaffClient) -> None:
    spec = {(m, p) for m, p, _ in operations(client)}
    hidden = {("WS", "/ws"), ("GET", "/"), ("GET", "/live"), ("GET", "/console"), ("GET", "/map"),
              ("GET", "/map/{name}"), ("GET", "/command"), ("GET", "/command/{name}"), ("GET", "/metrics"),
              ("GET", "/devices"), ("GET", "/escalation"), ("GET", "/insights"), ("GET", "/report"),
              ("GET", "/report/{name}"), ("GET", "/resources"), ("GET", "/evacuation"),
              ("GET", "/evacuation/{name}"), ("GET", "/users")}  # fmt: skip
    assert set(POLICY) - spec - hidden == set()


# public to the guard, but the handler wants its own token (the PBX's CTI token) or a session: 401 without either
OWN_TOKEN = {("POST", "/api/calls")}


def test_every_operation_answers_by_role(client: StaffClient) -> None:
    checked = 0
    for method, template, op in operations(client):
        allowed = rule(method, template).roles
        path, kw = request_of(template, op)
        anonymous = client.call(method, path, **kw).status_code
        if (method, template) in OWN_TOKEN:
            assert anonymous == 401, (method, template, anonymous)
            continue
        if allowed is None:
            assert anonymous not in (401, 403), (method, template, anonymous)
            continue
        assert anonymous == 401, (method, template, anonymous)
        for role in ACCOUNT_ROLES:  # issue 14: the reporter too
            status = client.call(method, path, role, **kw).status_code
            if role in allowed:
                assert status not in (401, 403) and status < 500, (method, template, role, status)
            else:
                assert status == 403, (method, template, role, status)
            checked += 1
    assert checked > 200


def test_a_route_added_without_an_entry_is_refused_even_to_an_admin(client: StaffClient) -> None:
    @client.app.get("/api/not-in-the-table")
    def forgotten() -> dict[str, str]:
        return {"secret": "yes"}

    try:
        assert client.call("GET", "/api/not-in-the-table", "admin").status_code == 403
    finally:
        client.app.router.routes.pop()
