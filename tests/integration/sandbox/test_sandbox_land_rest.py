"""The land registry over real HTTP: property rights as JSON, errors as problem+json."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import requests
import yaml
from openapi_spec_validator import validate

from adapters.sandbox.population import Population
from adapters.sandbox.runner import SPECS_DIR, SandboxHandle


def _owners_url(sandbox: SandboxHandle, afm: str) -> str:
    return f"{sandbox.urls['land']}/v1/owners/{afm}/properties"


def test_spouses_share_their_home(sandbox: SandboxHandle, http: requests.Session) -> None:
    population = sandbox.population
    owner = next(
        c
        for c in population
        if c.spouse is not None
        and any(o.owner == c.spouse for h in population.holdings(c) for o in h.co_owners)
    )
    spouse = population.citizen(owner.spouse)  # type: ignore[arg-type]
    response = http.get(_owners_url(sandbox, owner.afm), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    data = response.json()
    assert data["owner"] == {"afm": owner.afm}
    shared = [p for p in data["properties"] if p["co_owners"]]
    assert shared
    home = shared[0]
    assert len(home["kaek"]) == 12
    assert home["share"] == {"numerator": 1, "denominator": 2, "percent": 50.0}
    assert home["right"] == "full_ownership"
    assert home["co_owners"][0]["afm"] == spouse.afm
    assert home["acquisition"]["title"] in ("purchase_contract", "inheritance", "donation")
    assert "/" in home["acquisition"]["document_number"]
    assert home["address"]["municipality_latin"].isascii()
    assert home["use"] in ("residential", "commercial", "agricultural", "plot")
    assert home["area_m2"] > 0


def test_usufruct_and_bare_ownership(sandbox: SandboxHandle, http: requests.Session) -> None:
    population = sandbox.population
    holder = next(
        c
        for c in population
        if any(h.ownership.right == "usufruct" for h in population.holdings(c))
    )
    data = http.get(_owners_url(sandbox, holder.afm), timeout=5).json()
    usufruct = next(p for p in data["properties"] if p["right"] == "usufruct")
    assert usufruct["co_owners"][0]["right"] == "bare_ownership"
    assert usufruct["acquisition"]["title"] == "donation"


def test_a_citizen_without_property_gets_an_empty_list(
    sandbox: SandboxHandle, http: requests.Session
) -> None:
    minor = next(c for c in sandbox.population if c.is_minor)
    response = http.get(_owners_url(sandbox, minor.afm), timeout=5)
    assert response.status_code == 200
    assert response.json()["properties"] == []


def test_a_property_by_kaek(sandbox: SandboxHandle, http: requests.Session) -> None:
    population = sandbox.population
    holding = next(h for c in population for h in population.holdings(c))
    response = http.get(f"{sandbox.urls['land']}/v1/properties/{holding.asset.kaek}", timeout=5)
    assert response.status_code == 200
    data = response.json()
    assert data["kaek"] == holding.asset.kaek
    assert {o["afm"] for o in data["owners"]} == {
        population.citizen(o.owner).afm for o in holding.asset.ownerships
    }


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/owners/123456789/properties", 400, "INVALID_INPUT"),
        ("/v1/owners/12345/properties", 400, "INVALID_INPUT"),
        ("/v1/owners/abcdefghi/properties", 400, "INVALID_INPUT"),
        ("/v1/properties/12", 400, "INVALID_INPUT"),
        ("/v1/properties/000000000000", 404, "NOT_FOUND"),
        ("/v1/owners", 404, "NOT_FOUND"),
        ("/elsewhere", 404, "NOT_FOUND"),
    ],
)
def test_errors_are_problem_documents(
    sandbox: SandboxHandle, http: requests.Session, path: str, status: int, code: str
) -> None:
    response = http.get(sandbox.urls["land"] + path, timeout=5)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["type"].startswith("urn:gr:sandbox:land:problem:")
    assert problem["title"]


def test_an_unknown_owner_is_404(sandbox: SandboxHandle, http: requests.Session) -> None:
    stranger = Population(10_000, 2026).citizen(9_999)
    response = http.get(_owners_url(sandbox, stranger.afm), timeout=5)
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_only_get_is_allowed(sandbox: SandboxHandle, http: requests.Session) -> None:
    afm = sandbox.population.citizen(0).afm
    response = http.post(_owners_url(sandbox, afm), json={}, timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_the_spec_is_served_and_parses(sandbox: SandboxHandle, http: requests.Session) -> None:
    response = http.get(sandbox.urls["land"] + "/openapi.yaml", timeout=5)
    assert response.status_code == 200
    spec = yaml.safe_load(response.content)
    assert spec["openapi"].startswith("3.1")
    assert "/v1/owners/{afm}/properties" in spec["paths"]
    assert response.content == (SPECS_DIR / "land-registry.yaml").read_bytes()


def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    spec = yaml.safe_load((SPECS_DIR / "land-registry.yaml").read_text(encoding="utf-8"))
    schema: dict[str, Any] = {
        "$ref": f"#/components/schemas/{schema_name}",
        "components": spec["components"],
    }
    return jsonschema.Draft202012Validator(schema)


def test_the_spec_is_valid_openapi() -> None:
    validate(yaml.safe_load((SPECS_DIR / "land-registry.yaml").read_text(encoding="utf-8")))


def test_answers_follow_the_spec(sandbox: SandboxHandle, http: requests.Session) -> None:
    owners, record, problem = (
        _validator("OwnerProperties"),
        _validator("PropertyRecord"),
        _validator("Problem"),
    )
    population = sandbox.population
    for citizen in list(population)[:300]:
        data = http.get(_owners_url(sandbox, citizen.afm), timeout=5).json()
        owners.validate(data)
        for item in data["properties"]:
            url = f"{sandbox.urls['land']}/v1/properties/{item['kaek']}"
            record.validate(http.get(url, timeout=5).json())
    problem.validate(http.get(_owners_url(sandbox, "123456789"), timeout=5).json())
