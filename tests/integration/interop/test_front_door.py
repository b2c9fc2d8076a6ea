"""The front door and the not-found page, as a browser and as an API client see them.

``hub demo`` prints the hub's address first: there a person finds a page in
Greek (English on request) with no script, leading to the verify page, the
citizen's area, the audit, the service catalogue and the API docs. An
unknown path answers a browser with a page and an API client with
problem+json, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.config import Settings
from tests.common.server import serve_hub
from tests.conftest import SANDBOX_SEED, SANDBOX_SIZE

pytestmark = pytest.mark.db

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, keys_dir: Path, sandbox: Any) -> Iterator[str]:
    # One hub for the module: these tests only read.
    tmp = tmp_path_factory.mktemp("front-door")
    settings = Settings.for_tests(
        tmp,
        database_url=f"sqlite:///{tmp / 'hub.db'}",
        keys_dir=keys_dir,
        registry_urls=dict(sandbox.urls),
        sandbox_population=SANDBOX_SIZE,
        sandbox_seed=SANDBOX_SEED,
    )
    with serve_hub(settings) as (url, _, _):
        yield url


def test_the_front_door_is_a_greek_page_without_script(hub: str) -> None:
    response = requests.get(f"{hub}/", headers=HTML, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="el">' in page
    assert "<script" not in page
    for link in ("/verify", "/me", "/audit", "/ui/", "/openapi.json"):
        assert f'href="{link}"' in page, link
    assert "Κατάλογος υπηρεσιών" in page
    assert "Πιστοποιητικό γέννησης" in page  # an evidence type of the catalogue


def test_the_front_door_speaks_english_on_request(hub: str) -> None:
    page = requests.get(f"{hub}/?lang=en", headers=HTML, timeout=10).text
    assert '<html lang="en">' in page
    assert "Service catalogue" in page
    assert "Birth certificate" in page


def test_an_api_client_also_gets_the_front_door(hub: str) -> None:
    # "/" is a page for everyone: there is no API resource there.
    assert requests.get(f"{hub}/", timeout=10).headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/no/such/place", "/v1/nothing", "/verify2"])
def test_an_unknown_path_is_a_page_for_a_browser_and_a_problem_for_a_client(
    hub: str, path: str
) -> None:
    browser = requests.get(f"{hub}{path}", headers=HTML, timeout=10)
    assert browser.status_code == 404
    assert browser.headers["content-type"].startswith("text/html")
    assert "Η σελίδα δεν βρέθηκε" in browser.text
    client = requests.get(f"{hub}{path}", timeout=10)
    assert client.status_code == 404
    assert client.headers["content-type"] == "application/problem+json"


def test_an_operation_keeps_its_problem_even_for_a_browser(hub: str) -> None:
    # The path is the API's: its refusal is the API's answer, whoever asks.
    response = requests.get(f"{hub}/v1/me/certificates", headers=HTML, timeout=10)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_the_swagger_ui_connexion_serves_is_version_5() -> None:
    # Swagger UI 4 cannot render OpenAPI 3.1. A virtual environment made before
    # the switch may still hold the old package under the same module name.
    from swagger_ui_bundle import swagger_ui_path  # noqa: PLC0415

    assert "swagger-ui-5." in str(swagger_ui_path), (
        "run: pip uninstall -y swagger-ui-bundle && pip install --force-reinstall "
        "swagger-ui-bundle-v2"
    )
