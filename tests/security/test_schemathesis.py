"""schemathesis against the app's own OpenAPI spec (issue 8): every operation, generated valid and invalid input,
as an admin with the CSRF header; no answer may be a server error, and documented answers must match the schema.

The Python API rather than `schema.parametrize()`: the latter's subtests do not run under pytest 9.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from staff_app import StaffClient, staff_hub

from dashboard.guard import CSRF_HEADER, SESSION_COOKIE, csrf_token

EXAMPLES = 25  # per operation: about 60 operations stay within ~60 s on the 2-core CI machine
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def hub_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffClient]:
    with staff_hub(Path(tmp_path_factory.mktemp("hub"))) as made:
        yield made


def _fuzz(operation: schemathesis.APIOperation, client: StaffClient) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)  # fmt: skip
    def run(case: schemathesis.Case) -> None:
        token = client.session("admin")  # a fresh session per case: a generated logout ends only its own
        headers = {CSRF_HEADER: csrf_token(token)}
        case.call_and_validate(app=client.app, cookies={SESSION_COOKIE: token}, headers=headers, checks=CHECKS)

    run()


def test_every_operation_conforms_and_never_fails(hub_client: StaffClient) -> None:
    schema = schemathesis.openapi.from_dict(hub_client.app.openapi())
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        try:
            _fuzz(operation, hub_client)
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report them together
            failures[operation.label] = str(exc)[:1500]
    assert len(operations) > 50
    assert not failures, "\n\n".join(f"{label}:\n{why}" for label, why in failures.items())
