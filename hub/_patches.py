"""Every change the hub makes to a third-party library's internals, in one place.

The hub reaches into five libraries' private code, each for a measured reason
explained where the replacement lives:

========================  ===============  =====================================
patch                     library          replacement
========================  ===============  =====================================
asn1crypto-name-match     asn1crypto       ``sealing._speedups`` (memoised names)
asn1crypto-clean-default  asn1crypto       ``sealing._speedups`` (DEFAULT values
                                           built clean, not re-encoded forever)
pyhanko-hex-reader        pyhanko          ``sealing._speedups`` (hex strings)
fpdf2-font-subsets        fpdf2            ``sealing._fonts`` (cached subsets)
connexion-openapi-3.1     connexion        ``api.openapi31`` (3.1 documents)
connexion-handler-once    connexion        ``api.handlers_once`` (handlers
                                           wrapped once, not per request)
zeep-private-create       zeep             ``adapters._zeep`` (request + headers)
zeep-reply-reader         zeep             ``adapters._zeep`` (replies read once
                                           compiled from zeep's types)
========================  ===============  =====================================

Each was written against the internals of a range of versions of its library,
the range the lock file (requirements/) pins and CI tests. :func:`apply`, run
once at start-up by ``create_app`` and the CLI, installs a patch only when the
installed version is inside its range. Outside it the library's own code runs
(every patch has that fallback: the speed-ups just do not happen, fonts are
added with fpdf2's ``add_font``, zeep's public ``create_message`` builds the
request) and a WARNING says which patch was skipped and why, so an upgrade
that moved an internal cannot silently run a patch against code nobody read.
Moving a range is part of upgrading the library: read the internal again, run
the tests, then edit the range here.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["PATCHES", "Patch", "apply", "supported"]

log = logging.getLogger(__name__)


def _release(version: str) -> tuple[int, ...] | None:
    """The numeric release of a version string ("3.3.0rc1" -> (3, 3, 0))."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in match.group(0).split(".")) if match else None


def supported(version: str, low: str, high: str) -> bool:
    """Whether ``low <= version < high``, comparing release numbers."""
    found, first, limit = _release(version), _release(low), _release(high)
    if found is None or first is None or limit is None:
        return False
    width = max(len(found), len(first), len(limit))

    def pad(release: tuple[int, ...]) -> tuple[int, ...]:
        return release + (0,) * (width - len(release))

    return pad(first) <= pad(found) < pad(limit)


def _install_name_matching() -> None:
    from hub.domain.sealing import _speedups  # noqa: PLC0415 - only when the guard allows

    _speedups.install_name_matching()


def _install_clean_defaults() -> None:
    from hub.domain.sealing import _speedups  # noqa: PLC0415 - only when the guard allows

    _speedups.install_clean_defaults()


def _install_hex_reader() -> None:
    from hub.domain.sealing import _speedups  # noqa: PLC0415 - only when the guard allows

    _speedups.install_hex_reader()


def _install_font_subsets() -> None:
    from hub.domain.sealing import _fonts  # noqa: PLC0415 - only when the guard allows

    _fonts.install()


def _install_openapi31() -> None:
    from hub.api import openapi31  # noqa: PLC0415 - only when the guard allows

    openapi31.install()


def _install_handler_once() -> None:
    from hub.api import handlers_once  # noqa: PLC0415 - only when the guard allows

    handlers_once.install()


def _install_zeep_create() -> None:
    from adapters import _zeep  # noqa: PLC0415 - only when the guard allows

    _zeep.install()


def _install_zeep_reader() -> None:
    from adapters import _zeep  # noqa: PLC0415 - only when the guard allows

    _zeep.install_reader()


@dataclass(frozen=True, slots=True)
class Patch:
    """One patch: the distribution it touches and the versions it was written for."""

    name: str
    distribution: str
    #: Inclusive lower and exclusive upper bound of the versions read and tested.
    low: str
    high: str
    install: Callable[[], None]


PATCHES: tuple[Patch, ...] = (
    Patch("asn1crypto-name-match", "asn1crypto", "1.5", "1.6", _install_name_matching),
    Patch("asn1crypto-clean-default", "asn1crypto", "1.5", "1.6", _install_clean_defaults),
    Patch("pyhanko-hex-reader", "pyhanko", "0.38", "0.39", _install_hex_reader),
    Patch("fpdf2-font-subsets", "fpdf2", "2.8", "2.9", _install_font_subsets),
    Patch("connexion-openapi-3.1", "connexion", "3.3", "3.4", _install_openapi31),
    Patch("connexion-handler-once", "connexion", "3.3", "3.4", _install_handler_once),
    Patch("zeep-private-create", "zeep", "4.3", "4.4", _install_zeep_create),
    Patch("zeep-reply-reader", "zeep", "4.3", "4.4", _install_zeep_reader),
)

_decided: dict[str, bool] = {}
_lock = threading.Lock()


def apply(
    version_of: Callable[[str], str] = importlib.metadata.version,
) -> Mapping[str, bool]:
    """Install every patch whose library is at a version it was written for.

    Idempotent: each patch is decided once per process. Returns, per patch
    name, whether it is installed. ``version_of`` is for tests.
    """
    with _lock:
        for patch in PATCHES:
            if patch.name in _decided:
                continue
            try:
                version = version_of(patch.distribution)
            except importlib.metadata.PackageNotFoundError:
                version = "unknown"
            if supported(version, patch.low, patch.high):
                patch.install()
                _decided[patch.name] = True
            else:
                log.warning(
                    "patch %s not applied: %s %s is outside %s..%s it was written for; "
                    "the library's own code runs",
                    patch.name,
                    patch.distribution,
                    version,
                    patch.low,
                    patch.high,
                )
                _decided[patch.name] = False
        return dict(_decided)
