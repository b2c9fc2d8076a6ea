"""The published trust: JWKS, the CA chain and the CRLs — public, cacheable.

Everything an offline verifier needs to check a seal without calling the hub
again: the public seal keys (current and retired, each with its ``x5c``), the
root and issuing CA certificates, and the CRLs of both CAs. The seal JWKS holds
seal keys only: the keys of access tokens are published apart
(``/oauth2/jwks.json``, hub/api/auth.py), so that no token passes for a seal.

The certificates themselves name addresses under ``/pki/``: each one's CRL
distribution point and, in its authority information access, the issuer's
certificate. A validator that fetches (Adobe, the EU DSS validator, pyHanko
with fetching on) follows them, so they answer with exactly the DER object
and media type RFC 5280 §4.2.1.13 / §4.2.2.1 and RFC 2585 call for.
"""

from __future__ import annotations

from connexion.lifecycle import ConnexionResponse

from hub.api._certificates import keystore
from hub.api._responses import JsonResult, json_body
from hub.domain.sealing.keystore import KeyPurpose
from hub.errors import NotFound, ValidationFailed

__all__ = ["ca_chain", "crl", "jwks", "pki_object"]

# Clients may cache the published material briefly; a rotation shows up soon.
# Always pass a copy: connexion writes Content-Type into the headers it is given.
_CACHE = {"Cache-Control": "public, max-age=300"}

_CAS = {"root": KeyPurpose.ROOT_CA, "issuing": KeyPurpose.ISSUING_CA}


def jwks() -> JsonResult:
    return json_body(keystore().jwks(), headers=dict(_CACHE))


def ca_chain() -> ConnexionResponse:
    return ConnexionResponse(
        status_code=200,
        body=keystore().pem_chain(),
        mimetype="application/x-pem-file",
        content_type="application/x-pem-file",
        headers=dict(_CACHE),
    )


def crl(ca: str = "issuing") -> ConnexionResponse:
    purpose = _CAS.get(ca)
    if purpose is None:
        raise ValidationFailed("ca is root or issuing.")
    return ConnexionResponse(
        status_code=200,
        body=keystore().crls()[purpose],
        mimetype="application/pkix-crl",
        content_type="application/pkix-crl",
        headers={**_CACHE, "Content-Disposition": f'attachment; filename="{ca}-ca.crl"'},
    )


#: What ``/pki/{name}`` serves: which CA, and whether its CRL or its certificate.
_PKI_OBJECTS = {
    f"{purpose}.{kind}": (purpose, kind)
    for purpose in (KeyPurpose.ROOT_CA, KeyPurpose.ISSUING_CA)
    for kind in ("crl", "crt")
}


def pki_object(name: str) -> ConnexionResponse:
    """A CRL (``application/pkix-crl``) or CA certificate (``application/pkix-cert``), DER."""
    found = _PKI_OBJECTS.get(name)
    if found is None:
        raise NotFound(f"There is no PKI object named {name[:64]!r}.")
    purpose, kind = found
    store = keystore()
    if kind == "crl":
        body, media = store.crls()[purpose], "application/pkix-crl"
    else:
        body, media = store.ca_certificate(purpose), "application/pkix-cert"
    return ConnexionResponse(
        status_code=200,
        body=body,
        mimetype=media,
        content_type=media,
        headers={**_CACHE, "Content-Disposition": f'attachment; filename="{name}"'},
    )
