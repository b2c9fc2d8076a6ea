"""Each library patch runs only for the versions it was written for.

Outside its range a patch must leave the library's own code in place, say so
at WARNING, and the hub must still work through the fallback. Patches are
process-wide, so the fallbacks are observed in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from adapters import _zeep
from adapters._auth import Access
from adapters.resilience import Policy
from adapters.soap import SoapRegistryClient
from hub import _patches

SPECS = Path(__file__).resolve().parents[3] / "specs" / "registries"
ONBOARDING = Path(__file__).resolve().parents[2] / "fixtures" / "catalog_onboarding" / "registries"

# Run in a fresh interpreter: apply() as if every library were at version 0.0,
# then report what is in place. Rendering a PDF with the Greek font shows the
# font fallback works, not just that it was chosen.
_PROBE = r"""
import json, logging, sys
logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(message)s")
from hub import _patches
applied = _patches.apply(version_of=lambda name: "0.0")
import fontTools.subset, fpdf.output
from asn1crypto import core, x509
from connexion.spec import OpenAPISpecification
from connexion.apps.asynchronous import AsyncOperation
from fpdf import FPDF
from pyhanko.pdf_utils import generic
from adapters import _zeep
from hub.domain.sealing import _fonts, pdf
face = _fonts.FontFace.load(pdf._asset("DejaVuSans-LGC.ttf"), "DejaVu", "")
document = FPDF()
_fonts.add_font(document, face)
document.add_page()
document.set_font("DejaVu", size=12)
document.cell(text="Πιστοποιητικό γέννησης")
_fonts.finish(document)
rendered = bytes(document.output())
print(json.dumps({
    "applied": applied,
    "asn1crypto-name-match": not hasattr(x509.Name.__eq__, "__wrapped__"),
    "asn1crypto-clean-default": not hasattr(core.Sequence.__init__, "__wrapped__"),
    "pyhanko-hex-reader": not hasattr(generic.read_hex_string_from_stream, "__wrapped__"),
    "fpdf2-font-subsets": fpdf.output.ftsubset is fontTools.subset
        and face.template is None and b"DejaVu" in rendered,
    "connexion-openapi-3.1":
        OpenAPISpecification._validate_spec.__func__.__module__.startswith("connexion"),
    "connexion-handler-once":
        AsyncOperation.fn.fget.__module__.startswith("connexion"),
    "zeep-private-create": not _zeep._private.is_set(),
    "zeep-reply-reader": not _zeep._readers.is_set(),
}))
"""


@pytest.fixture(scope="module")
def outside_range() -> tuple[dict[str, Any], str]:
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=False, timeout=120
    )
    assert probe.returncode == 0, probe.stderr
    return json.loads(probe.stdout.splitlines()[-1]), probe.stderr


@pytest.mark.parametrize("patch", _patches.PATCHES, ids=lambda patch: patch.name)
def test_outside_its_range_a_patch_leaves_the_library_alone(
    patch: _patches.Patch, outside_range: tuple[dict[str, Any], str]
) -> None:
    report, log = outside_range
    assert report["applied"][patch.name] is False
    assert report[patch.name] is True, f"{patch.name}: the library's own code is not in place"
    assert f"WARNING patch {patch.name} not applied: {patch.distribution} 0.0 is outside" in log


def test_the_locked_versions_are_inside_every_range() -> None:
    # The lock and the ranges move together: CI runs the patched code.
    applied = _patches.apply()
    assert all(applied.values()), applied


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.5", True),
        ("1.5.1", True),
        ("1.5.99", True),
        ("1.6", False),
        ("1.6.0rc1", False),
        ("1.4.9", False),
        ("2", False),
        ("unknown", False),
    ],
)
def test_ranges_compare_release_numbers(version: str, expected: bool) -> None:
    assert _patches.supported(version, "1.5", "1.6") is expected


@pytest.mark.parametrize(
    ("wsdl", "operation", "params", "credentials"),
    [
        ("population.wsdl", "GetPerson", {"afm": "090000045"}, {}),
        (
            "social-security.wsdl",
            "GetInsuranceStatus",
            {"amka": "01017012345"},
            {
                "auth": {"kind": "username_token"},
                "access": Access(credentials=("hub-client", "s3cret-pass")),
            },
        ),
        (
            ONBOARDING / "education.wsdl",
            "GetQualifications",
            {"Student": {"Amka": "01017012345"}},
            {"binding": "soap12"},
        ),
    ],
)
def test_zeep_public_fallback_builds_what_the_private_call_builds(
    wsdl: str | Path, operation: str, params: dict[str, Any], credentials: dict[str, Any]
) -> None:
    client = SoapRegistryClient(
        "registry", SPECS / wsdl, "http://127.0.0.1:9/soap", Policy(), **credentials
    )
    try:
        private = client.binding._create(operation, (), dict(params), client=client.client)
        was_private = _zeep._private.is_set()
        _zeep._private.clear()
        try:
            fallback = _zeep.build_request(
                client.client, client.binding, operation, params, service=client.service
            )
        finally:
            if was_private:
                _zeep._private.set()
        assert etree.tostring(fallback[0]) == etree.tostring(private[0])
        assert fallback[1] == dict(private[1])
    finally:
        client.close()
