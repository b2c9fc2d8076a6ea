"""Swagger UI renders the served OpenAPI 3.1 document, and the front door leads to it.

Swagger UI 4 answered "Unable to render this definition" for OpenAPI 3.1;
this drives Debian's Chromium to ``/ui/`` and counts the operations it
draws against the spec's, then follows the front door's link to it.
"""

from __future__ import annotations

from typing import Any

import requests

from tests.e2e.conftest import Hub, Scanner

METHODS = ("get", "put", "post", "delete", "patch")


def test_swagger_ui_renders_every_operation(hub: Hub, page: Any) -> None:
    spec = requests.get(f"{hub.url}/openapi.json", timeout=10).json()
    operations = sum(1 for item in spec["paths"].values() for m in METHODS if m in item)
    page.goto(f"{hub.url}/ui/")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert "Unable to render" not in page.content()
    assert page.locator(".opblock").count() == operations
    # The 3.1 features render: an operation opens and shows its camelCase id.
    first = page.locator(".opblock-summary").first
    first.click()
    page.wait_for_selector(".opblock-body", timeout=10_000)
    title = page.locator(".info .title").inner_text()
    assert spec["info"]["title"] in title
    # OAuth: the client-credentials scheme is offered with its token URL.
    page.locator("button.authorize").first.click()
    dialog = page.locator(".auth-container").first
    dialog.wait_for(timeout=10_000)
    assert "/oauth2/token" in page.locator(".modal-ux").inner_text()


def test_the_front_door_leads_to_the_api_docs(hub: Hub, page: Any, scan: Scanner) -> None:
    page.goto(f"{hub.url}/")
    assert page.locator("h1").inner_text() == "Κόμβος Διαλειτουργικότητας"
    scan(page, "front-door")
    page.get_by_role("link", name="Τεκμηρίωση του API (Swagger UI)").click()
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.url == f"{hub.url}/ui/"


def test_a_browser_gets_a_page_for_an_unknown_path(hub: Hub, page: Any, scan: Scanner) -> None:
    response = page.goto(f"{hub.url}/no/such/place")
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    assert page.locator("h1").inner_text() == "Η σελίδα δεν βρέθηκε"
    scan(page, "not-found")
