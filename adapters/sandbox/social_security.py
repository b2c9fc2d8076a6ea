"""The sandbox social-security registry (EFKA-like): SOAP 1.1 behind WS-Security.

Real social-security services authenticate the calling system with a
WS-Security UsernameToken, so the hub's SOAP adapter must send one; this
registry refuses any call without the user name and password it was started
with. One operation, ``GetInsuranceStatus``, by ``amka`` or ``afm``: insured or
not, the category and fund, how long the cover lasts, insured days for the last
five years and the current employer. The contract is
``specs/registries/social-security.wsdl``.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from adapters.sandbox._soap import SoapApp, SoapFault
from adapters.sandbox.faults import Faults
from adapters.sandbox.population import Citizen, Population

__all__ = [
    "PASSWORD_TEXT",
    "SOCIAL_SECURITY_NAMESPACE",
    "WSSE_NAMESPACE",
    "SocialSecurityRegistry",
]

SOCIAL_SECURITY_NAMESPACE = "urn:gr:sandbox:social-security:v1"
WSSE_NAMESPACE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_PROFILE_URI = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
#: The URI that names the plain-text password type (not a password itself).
PASSWORD_TEXT = _PROFILE_URI + "#PasswordText"
_WSSE = f"{{{WSSE_NAMESPACE}}}"


class SocialSecurityRegistry(SoapApp):
    registry_id = "social-security"
    namespace = SOCIAL_SECURITY_NAMESPACE
    prefix = "ss"
    fault_namespaces = {"wsse": WSSE_NAMESPACE}  # noqa: RUF012  # Read-only class constant.

    def __init__(
        self,
        population: Population,
        faults: Faults | None = None,
        *,
        wsdl_path: Path,
        base_url: str,
        credentials: tuple[str, str],
    ) -> None:
        super().__init__(population, faults, wsdl_path=wsdl_path, base_url=base_url)
        self._user = credentials[0].encode()
        self._password = credentials[1].encode()
        self.operations = {"GetInsuranceStatusRequest": self._get_insurance_status}

    def check_header(self, header: Any) -> None:
        token = None
        if header is not None:
            token = header.find(f"{_WSSE}Security/{_WSSE}UsernameToken")
        if token is None:
            raise SoapFault(
                "AUTH_REQUIRED",
                "a WS-Security UsernameToken is required",
                faultcode="wsse:InvalidSecurity",
            )
        password = token.find(f"{_WSSE}Password")
        user = (token.findtext(f"{_WSSE}Username") or "").encode()
        secret = ((password.text or "") if password is not None else "").encode()
        kind = password.get("Type", PASSWORD_TEXT) if password is not None else PASSWORD_TEXT
        # Compare both halves even when the first differs, so timing tells nothing.
        user_ok = hmac.compare_digest(user, self._user)
        password_ok = hmac.compare_digest(secret, self._password)
        if kind != PASSWORD_TEXT or not (user_ok and password_ok):
            raise SoapFault(
                "AUTH_FAILED",
                "the security token could not be authenticated",
                faultcode="wsse:FailedAuthentication",
            )

    def _get_insurance_status(self, citizen: Citizen, body: Any) -> None:
        insurance = self.population.insurance(citizen)
        status = self.add(self.add(body, "GetInsuranceStatusResponse"), "insuranceStatus")
        self.add(status, "amka", citizen.amka)
        self.add(status, "afm", citizen.afm)
        self.add(status, "surname", citizen.surname)
        self.add(status, "firstName", citizen.first_name)
        self.add(status, "insured", "true" if insurance.insured else "false")
        self.add(status, "category", insurance.category)
        if insurance.fund_code is not None and insurance.fund_name is not None:
            fund = self.add(status, "fund")
            self.add(fund, "code", insurance.fund_code)
            self.add(fund, "name", insurance.fund_name)
        if insurance.valid_until is not None:
            self.add(status, "validUntil", insurance.valid_until.isoformat())
        days = self.add(status, "insuredDays")
        for year, count in insurance.insured_days:
            period = self.add(days, "period")
            self.add(period, "year", str(year))
            self.add(period, "days", str(count))
        if insurance.employer is not None:
            employer = self.add(status, "employer")
            self.add(employer, "name", insurance.employer.name)
            self.add(employer, "afm", insurance.employer.afm)
