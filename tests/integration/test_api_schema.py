"""Property-based requests from the OpenAPI document (schemathesis), against the ASGI app.

Bounded: 40 examples per operation (a few hundred in all), no example database. Checks that
responses conform to the document (statuses, content types, headers, bodies) and that nothing
answers 5xx except the documented 503s.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stocky.api.app import create_app
from support import make_settings

pytestmark = pytest.mark.integration

FIXED_NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)
EXAMPLES = 40  # per operation
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(trained_home: Path, tmp_path: Path) -> Iterator[schemathesis.BaseSchema]:
    db = tmp_path / "stocky.db"
    shutil.copy(trained_home / "stocky.db", db)
    app_settings = make_settings(trained_home, database_url=f"sqlite:///{db}", admin_api_key="k")
    app = create_app(app_settings, clock=lambda: FIXED_NOW)
    with TestClient(app):  # runs the lifespan: champions loaded, as when serving
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def test_responses_conform_to_the_openapi_document(api_schema):
    # schemathesis' own pytest plugin does not run under this pytest: drive hypothesis here
    failures: dict[str, str] = {}
    labels = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call_and_validate(checks=CHECKS)
            # no 5xx: the documented 503s need a failing database or registry
            assert response.status_code < 500, response.text

        try:
            check()
        except BaseException as exc:  # a FailureGroup; collected so every operation runs
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures[operation.label] = str(exc)[:2000]
    assert len(labels) >= 8, labels  # every documented operation was exercised
    assert failures == {}, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
