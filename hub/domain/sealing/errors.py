"""Errors of keys, trust and sealing, as leaves of the hub's one error tree.

Sealing code raises these instead of the exceptions of ``cryptography``,
``pyjwt`` or ``pyhanko`` so that the API and the CLI only ever see a
``HubError``. Verification never raises for bad *input*: a forged or broken
document is a report, not an error. These errors are for the operator's side:
missing or locked keys, a keys directory that already exists, a record that
cannot be canonicalised.

The leaves::

    HubError
    ├── ConfigError
    │   ├── KeyStoreError          keys directory missing, incomplete or corrupt
    │   │   ├── KeyStoreLocked     a private key needs a (different) passphrase
    │   │   └── HsmError           a PKCS#11 token or key cannot be used
    │   └── TimestampUnavailable   a sealing level needs a TSA that is not set
    ├── ServiceUnavailable
    │   ├── TimestampAuthorityDown the TSA did not answer with a timestamp
    │   └── HsmUnavailable         the HSM did not sign
    ├── Conflict
    │   └── KeyStoreExists         init would overwrite existing key material
    └── SealingError               a document could not be sealed or rendered
"""

from __future__ import annotations

from hub.errors import ConfigError, Conflict, HubError, ServiceUnavailable

__all__ = [
    "HsmError",
    "HsmUnavailable",
    "KeyStoreError",
    "KeyStoreExists",
    "KeyStoreLocked",
    "SealingError",
    "TimestampAuthorityDown",
    "TimestampUnavailable",
]


class KeyStoreError(ConfigError):
    """The keys directory is missing, incomplete or not what the manifest says."""

    slug = "keystore"
    title = "Key store error"


class KeyStoreLocked(KeyStoreError):
    """A private key is encrypted and the passphrase is missing or wrong."""

    slug = "keystore-locked"
    title = "Key store locked"


class HsmError(KeyStoreError):
    """A PKCS#11 token, its module, its PIN or a key in it cannot be used."""

    slug = "hsm"
    title = "HSM error"


class KeyStoreExists(Conflict):
    """Initialising would overwrite key material that is already there."""

    slug = "keystore-exists"
    title = "Key store already exists"


class TimestampUnavailable(ConfigError):
    """A PAdES level that needs a timestamp was asked for without a TSA."""

    slug = "timestamp-unavailable"
    title = "Timestamp authority not configured"


class TimestampAuthorityDown(ServiceUnavailable):
    """The timestamp authority failed, and no fallback is configured.

    A document sealed without the timestamp its level promises would be a
    silent B-B; issuance is refused instead, for a retry.
    """

    slug = "timestamp-authority-unavailable"
    title = "Timestamp authority unavailable"
    title_el = "Η αρχή χρονοσήμανσης δεν είναι διαθέσιμη"
    detail_el = "Η αρχή χρονοσήμανσης δεν απάντησε: δοκιμάστε ξανά σε λίγο."


class HsmUnavailable(ServiceUnavailable):
    """The HSM did not sign (it is down, or refused); retry later."""

    slug = "hsm-unavailable"
    title = "Signing device unavailable"
    title_el = "Η συσκευή υπογραφής δεν είναι διαθέσιμη"
    detail_el = "Η συσκευή υπογραφής δεν απάντησε: δοκιμάστε ξανά σε λίγο."


class SealingError(HubError):
    """A document could not be sealed or rendered (the input was not sealable)."""

    slug = "sealing-failed"
    title = "Sealing failed"
