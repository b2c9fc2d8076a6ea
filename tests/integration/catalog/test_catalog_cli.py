"""``hub catalog check`` names the file and line of each error; ``hub registry scaffold`` works."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from hub.catalog.check import check_catalog
from hub.cli.main import main
from tests.common.server import free_port

ROOT = Path(__file__).resolve().parents[3]
CATALOG = ROOT / "specs" / "catalog"
REGISTRIES = ROOT / "specs" / "registries"


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(CATALOG, target)
    return target


def _line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def _replace(path: Path, old: str, new: str) -> None:
    content = path.read_text(encoding="utf-8")
    assert old in content
    path.write_text(content.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_catalogue_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "check"]) == 0
    assert "catalogue OK" in capsys.readouterr().out


def test_each_error_is_named_by_file_and_line(catalog: Path) -> None:
    purposes = catalog / "purposes.yaml"
    _replace(purposes, "school-enrollment:", "school-enrollment:\n    hidden_until: null")
    # An evidence type the purpose names and the catalogue lacks.
    _replace(purposes, "birth-certificate: [", "birth-certficate: [")
    birth = catalog / "evidence" / "birth-certificate.yaml"
    # An expression that does not compile, and a path naming no source.
    _replace(birth, "years_between(value, today) >= 18", "years_between(value, today) >=")
    family = catalog / "evidence" / "family-status.yaml"
    _replace(family, "marital_status: family.maritalStatus", "marital_status: famly.maritalStatus")
    findings = check_catalog(catalog, registries_dir=REGISTRIES)
    text = "\n".join(str(f) for f in findings)
    assert f"{purposes}:{_line_of(purposes, 'birth-certficate')}:" in text, text
    assert f"{birth}:{_line_of(birth, 'adult:')}:" in text, text
    assert f"{family}:{_line_of(family, 'marital_status: famly')}:" in text, text
    assert "does not parse" in text
    assert "names no source" in text


def test_broken_yaml_names_its_line(catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    agencies = catalog / "agencies.yaml"
    agencies.write_text(agencies.read_text() + "\n  bad: [unclosed\n", encoding="utf-8")
    assert main(["catalog", "check", "--base", str(catalog)]) == 1
    out = capsys.readouterr().out
    assert f"{agencies}:" in out
    assert "1 error" in out


def test_a_registry_description_that_does_not_fit(catalog: Path) -> None:
    registries = catalog / "registries.yaml"
    _replace(registries, "path: /v1/owners/{afm}/properties", "path: /v1/owners/{afm}/estates")
    evidence = catalog / "evidence" / "insurance-status.yaml"
    _replace(evidence, "operation: GetInsuranceStatus", "operation: GetInsuranceStatu")
    findings = check_catalog(catalog, registries_dir=REGISTRIES)
    text = "\n".join(str(f) for f in findings)
    assert f"{registries}:{_line_of(registries, 'description: land-registry.yaml')}:" in text
    assert "/v1/owners/{afm}/estates" in text
    assert "no operation GetInsuranceStatu" in text


def test_an_extension_directory_is_checked_merged_over_the_catalogue(tmp_path: Path) -> None:
    extension = tmp_path / "extension"
    shutil.copytree(ROOT / "tests" / "fixtures" / "catalog_extension", extension)
    assert check_catalog(CATALOG, [extension], registries_dir=REGISTRIES) == []
    _replace(extension / "purposes.yaml", "identity-summary", "identity-sumary")
    findings = check_catalog(CATALOG, [extension], registries_dir=REGISTRIES)
    assert findings
    assert str(findings[0]).startswith(f"{extension / 'purposes.yaml'}:")


@pytest.mark.parametrize(
    ("option", "description", "registry", "operation"),
    [
        ("--wsdl", "population.wsdl", "population-registry", "GetBirthRecord"),
        ("--wsdl", "social-security.wsdl", "social-security-registry", "GetInsuranceStatus"),
        ("--openapi", "land-registry.yaml", "sandbox-land-registry", "ListOwnerProperties"),
    ],
)
def test_scaffold_prints_an_entry_and_a_mapping_per_operation(
    capsys: pytest.CaptureFixture[str], option: str, description: str, registry: str, operation: str
) -> None:
    assert main(["registry", "scaffold", option, str(REGISTRIES / description)]) == 0
    documents = [
        d for d in yaml.safe_load_all(capsys.readouterr().out.replace("\n# ", "\n---\n# ")) if d
    ]
    entry = documents[0]["registries"][registry]
    assert entry["description"] == description
    assert operation in entry["operations"]
    stubs = {d["sources"][0]["operation"]: d for d in documents[1:]}
    assert set(stubs) == set(entry["operations"])
    mapping = stubs[operation]["mapping"]
    assert mapping
    assert all(path.startswith("answer.") for path in mapping.values())


def test_scaffold_of_a_file_that_is_no_wsdl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "x.wsdl"
    bogus.write_text("<not-a-wsdl/>")
    assert main(["registry", "scaffold", "--wsdl", str(bogus)]) == 2
    assert "declares no service" in capsys.readouterr().err


def test_sighup_reloads_a_running_server(tmp_path: Path, keys_dir: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", specs)
    port = free_port()
    env = {
        **os.environ,
        "HUB_SPECS_DIR": str(specs),
        "HUB_VAR_DIR": str(tmp_path / "var"),
        "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "HUB_KEYS_DIR": str(keys_dir),
        "HUB_PORT": str(port),
    }
    assert (
        subprocess.run(
            [sys.executable, "-m", "hub", "db", "upgrade"], env=env, check=False
        ).returncode
        == 0
    )
    server = subprocess.Popen([sys.executable, "-m", "hub", "serve"], env=env)
    try:
        url = f"http://127.0.0.1:{port}/v1/catalog/evidence-types"
        before = _wait_for(url)
        extension = ROOT / "tests" / "fixtures" / "catalog_extension" / "evidence"
        for path in extension.iterdir():
            shutil.copy(path, specs / "catalog" / "evidence" / path.name)
        # `hub catalog reload` checks, then signals the pid the server recorded.
        reload = subprocess.run(
            [sys.executable, "-m", "hub", "catalog", "reload"], env=env, check=False
        )
        assert reload.returncode == 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            after = requests.get(url, timeout=5).json()
            if after["version"] != before["version"]:
                break
            time.sleep(0.2)
        assert "identity-summary" in {k["id"] for k in after["evidence_types"]}
        # A broken catalogue: the CLI refuses, and a bare SIGHUP leaves the old one in force.
        (specs / "catalog" / "evidence" / "identity-summary.yaml").write_text("mapping: [")
        refused = subprocess.run(
            [sys.executable, "-m", "hub", "catalog", "reload"], env=env, check=False
        )
        assert refused.returncode == 1
        os.kill(server.pid, signal.SIGHUP)
        time.sleep(1.0)
        assert requests.get(url, timeout=5).json() == after
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_for(url: str) -> dict[str, object]:
    deadline = time.monotonic() + 40
    while True:
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the hub did not start")
        time.sleep(0.2)


def test_the_onboarding_catalogue_checks_clean() -> None:
    # The REST (OAuth2) and SOAP 1.2 registries onboarded by files: their own
    # descriptions, and SOAP operations named apart from their WSDL operations.
    onboarding = ROOT / "tests" / "fixtures" / "catalog_onboarding"
    assert check_catalog(CATALOG, [onboarding], registries_dir=REGISTRIES) == []
