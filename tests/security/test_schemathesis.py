"""Property-based tests of every operation of the running hub's published spec.

Schemathesis reads ``/openapi.json`` from a hub served over real HTTP and,
for each operation, sends a bounded number of generated requests, valid ones
and deliberately invalid ones, with a valid token for the operation's
security scheme (an agency token where the spec says ``agencyToken``, a
citizen token for ``citizenToken``, an auditor token for ``auditorToken``),
so the generated requests reach the handlers instead of stopping at 401.

Every answer must be free of server errors, match the response schema the
spec declares for its status, and carry a content type the spec declares.
The run is seeded and derandomised, so a failure repeats.

The operations are listed from ``specs/hub.yaml`` at collection, one test
per operation and mode (negative tests only where an operation takes input
to get wrong), and looked up in the published spec at run time; a test
checks that the two list the same operations, so none escapes. One hub
serves the whole module. (Schemathesis' own lazy pytest
integration relies on a pytest internal that pytest 9 removed, so the
Hypothesis test is built here from ``operation.as_strategy``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from hub.config import Settings
from hub.persistence import migrate
from hub.persistence.db import Database
from tests.common.database import POSTGRES_URL, postgres_schema
from tests.common.hubs import running_hub
from tests.conftest import SANDBOX_SEED, SANDBOX_SIZE
from tests.security.conftest import Tokens, issue_tokens

# One hub serves the whole module (a hub per generated-test function would
# cost more than the tests), on SQLite or, when configured, on PostgreSQL; so
# the module is marked for the PostgreSQL run by hand.
pytestmark = [pytest.mark.slow, pytest.mark.db]

# The verification upload takes raw bytes that no JSON Schema describes:
# something PDF-like or JWS-like, and plain garbage.
_RAW = st.binary(max_size=2048)
schemathesis.openapi.media_type(
    "application/pdf", st.one_of(_RAW, _RAW.map(lambda b: b"%PDF-1.7\n" + b))
)
schemathesis.openapi.media_type(
    "application/jose",
    st.one_of(
        _RAW,
        st.text(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", max_size=512
        ).map(str.encode),
    ),
)

SPEC = Path(__file__).resolve().parents[2] / "specs" / "hub.yaml"
METHODS = ("get", "put", "post", "delete", "patch")

#: Generated requests per operation and mode: enough to walk the branches of
#: the hub's small request schemas, few enough for CI on two cores.
MAX_EXAMPLES = 12
SEED = 2026

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _operations() -> list[tuple[str, str, bool]]:
    """(method, path, whether it takes any input a negative test could break)."""
    paths = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"]
    return [
        (m.upper(), p, bool(item[m].get("parameters") or item[m].get("requestBody")))
        for p, item in paths.items()
        for m in METHODS
        if m in item
    ]


OPERATIONS = [(m, p) for m, p, _ in _operations()]
#: Negative tests need something to get wrong; an operation without input has none.
CASES = [
    pytest.param(m, p, mode, id=f"{m} {p}-{mode.value}")
    for m, p, has_input in _operations()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if has_input or mode is GenerationMode.POSITIVE
]


@pytest.fixture(scope="module")
def module_hub(
    tmp_path_factory: pytest.TempPathFactory, keys_dir: Path, sandbox: Any
) -> Iterator[tuple[str, Settings]]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    with ExitStack() as stack:
        url = f"sqlite:///{tmp / 'hub.db'}"
        if POSTGRES_URL:
            url = stack.enter_context(postgres_schema())
            db = Database(url)
            migrate.upgrade(db)
            db.dispose()
        settings = Settings.for_tests(
            tmp,
            database_url=url,
            keys_dir=keys_dir,
            registry_urls=dict(sandbox.urls),
            sandbox_population=SANDBOX_SIZE,
            sandbox_seed=SANDBOX_SEED,
        )
        hub_url = stack.enter_context(running_hub(settings))
        yield hub_url, settings


@pytest.fixture(scope="module")
def hub_url(module_hub: tuple[str, Settings]) -> str:
    return module_hub[0]


@pytest.fixture(scope="module")
def tokens(module_hub: tuple[str, Settings], keys_dir: Path, sandbox: Any) -> Tokens:
    url, settings = module_hub
    return issue_tokens(settings, url, keys_dir, sandbox)


@pytest.fixture(scope="module")
def hub_schema(hub_url: str, tokens: Tokens) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "auth": {
                "openapi": {
                    scheme: {"bearer": token} for scheme, token in tokens.for_scheme().items()
                }
            },
        }
    )
    return schemathesis.openapi.from_url(f"{hub_url}/openapi.json", config=config, timeout=10)


def test_the_published_spec_lists_every_operation(hub_url: str) -> None:
    published = requests.get(f"{hub_url}/openapi.json", timeout=10).json()["paths"]
    listed = [(m.upper(), p) for p, item in published.items() for m in METHODS if m in item]
    assert sorted(listed) == sorted(OPERATIONS)


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_every_operation_holds(
    hub_schema: Any, hub_url: str, method: str, path: str, mode: GenerationMode
) -> None:
    operation = hub_schema[path][method]
    session = requests.Session()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=hub_url, session=session, checks=CHECKS, timeout=30)

    try:
        run()
    finally:
        session.close()
