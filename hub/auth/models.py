"""The values of authentication: who a verified token names, and a token the hub issued."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AgencyPrincipal", "AuditorPrincipal", "CitizenPrincipal", "IssuedToken"]


@dataclass(frozen=True, slots=True)
class AgencyPrincipal:
    """An authenticated agency, as its access token says."""

    agency_id: str
    purposes: tuple[str, ...]
    token_id: str


@dataclass(frozen=True, slots=True)
class CitizenPrincipal:
    """A citizen signed in through the trusted identity issuer."""

    afm: str
    amka: str | None
    name: str | None

    @property
    def subjects(self) -> tuple[str, ...]:
        """The references under which the access log may name this citizen."""
        refs = [f"afm:{self.afm}"]
        if self.amka:
            refs.append(f"amka:{self.amka}")
        return tuple(refs)


@dataclass(frozen=True, slots=True)
class AuditorPrincipal:
    name: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
