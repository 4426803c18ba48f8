"""Schemathesis against the app's own OpenAPI schema, in process (ASGI): generated
requests to every operation must never get a 5xx, and every response must match the
schema (status code, content type, headers, body) — schemathesis's default checks.

Three passes per operation: valid requests with path ids of records that exist (so
handlers run on real data), valid requests with any ids, and invalid requests (which
must be refused with a 4xx). Admin operations get the right key in the first and
last pass, and none in the second. Bounded for CI: a fixed number of examples per
operation and pass, no per-example deadline, no example database.

The operations are driven from one test per pass rather than `schema.parametrize()`:
schemathesis' pytest fixture loader (`from_fixture`) does not work with pytest 9, and
loading the schema at import time would build the archive during collection.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from tests.api_archive import API_KEY, Built, build_archive, make_app

EXAMPLES = {"real": 12, "positive": 15, "negative": 15}
HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    b = build_archive(tmp_path_factory.mktemp("schemathesis") / "data")
    yield b
    b.close()


# A schema-valid request may still be refused with 400 when its meaning cannot be run:
# a query of punctuation only, a cursor this API did not issue, a URL that does not
# parse, a page past the deepest result. Every other refusal of valid data still fails.
CONFIG = {
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
        }
    }
}


@pytest.fixture(scope="module")
def schema(built: Built) -> Any:
    config = SchemathesisConfig.from_dict(CONFIG)
    return schemathesis.openapi.from_asgi("/api/openapi.json", make_app(built), config=config)


def real_ids(built: Built) -> dict[str, Any]:
    return {
        "article_id": built.ids["raid"],
        "n": 1,
        "capture_id": built.captures["hostile_v1"],
        "name": "daily",
    }


def check_operation(
    operation: Any,
    mode: GenerationMode,
    strategy_kwargs: dict[str, Any],
    headers: dict[str, str] | None,
    examples: int,
) -> None:
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=HEALTH)
    @given(case=operation.as_strategy(generation_mode=mode, **strategy_kwargs))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's httpx2 notice, once per request
        check()


def run_pass(schema: Any, built: Built, kind: str) -> list[str]:
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        kwargs: dict[str, Any] = {}
        if kind == "real":
            wanted = {p.name for p in operation.path_parameters}
            ids = {k: v for k, v in real_ids(built).items() if k in wanted}
            if ids:
                kwargs["path_parameters"] = ids
        mode = GenerationMode.NEGATIVE if kind == "negative" else GenerationMode.POSITIVE
        is_admin = operation.path.startswith("/api/admin")
        # Without the key admin operations must refuse (schemathesis checks that auth is
        # not ignored); with it, valid bodies reach the handler and invalid ones a 4xx.
        headers = {"X-API-Key": API_KEY} if is_admin and kind != "positive" else None
        try:
            check_operation(operation, mode, kwargs, headers, EXAMPLES[kind])
        except Unsatisfiable:
            # No parameter or body to make invalid (GET /healthz): nothing negative to send.
            assert kind == "negative", label
        except Exception as exc:  # collect every operation's failure, then report all
            failures.append(f"{label} ({kind}): {exc}")
    return failures


@pytest.mark.parametrize("kind", list(EXAMPLES))
def test_no_server_error_and_no_schema_violation(schema: Any, built: Built, kind: str) -> None:
    failures = run_pass(schema, built, kind)
    assert not failures, "\n\n".join(failures)
