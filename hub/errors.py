"""One error root for the hub, so that every failure leaves as problem+json.

Each leaf carries the HTTP status it maps to, a stable problem ``type`` URI
(RFC 9457) and its title and explanation in English and Greek (a client that
sends ``Accept-Language: el`` reads the Greek; machines get English). The API
turns any ``HubError`` into a problem document; the CLI catches ``HubError``
and prints its diagnostics. Errors of the libraries underneath (SQLAlchemy,
zeep, requests, pyhanko) are translated into these at the boundary where they
occur and never reach the domain.

The tree::

    HubError (500 internal)
    ├── ConfigError (500)
    ├── BadRequest (400)
    │   ├── InvalidIdentifier (400)
    │   ├── InvalidContact (400)
    │   ├── ValidationFailed (400)
    │   ├── NestingTooDeep (400)
    │   ├── WebhookUrlRefused (400)
    │   └── TokenRequestRefused (400)      RFC 6749 §5.2 errors of /oauth2/token
    │       ├── UnsupportedGrantType (400)
    │       └── InvalidScope (400)
    ├── Unauthorized (401)
    │   └── InvalidToken (401)
    │       └── InvalidClient (400)         a client assertion that proves nothing
    ├── Forbidden (403)
    │   ├── PurposeNotAllowed (403)
    │   ├── ParameterNotAllowed (403)
    │   └── ConsentRequired (403)
    ├── NotFound (404)
    │   └── CitizenNotFound (404)
    ├── MethodNotAllowed (405)
    ├── Conflict (409)
    ├── PayloadTooLarge (413)
    ├── UnsupportedMediaType (415)
    ├── TooManyRequests (429)
    ├── StorageError (503)
    ├── ServiceUnavailable (503)
    │   ├── IdentityProviderUnavailable (503)
    │   └── ServerBusy (503)
    ├── RegistryError (502)
    │   ├── RegistryUnavailable (503)
    │   └── RegistryTimeout (504)
    └── DeliveryError (502)
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "PROBLEM_BASE",
    "BadRequest",
    "CitizenNotFound",
    "ConfigError",
    "Conflict",
    "ConsentRequired",
    "DeliveryError",
    "Forbidden",
    "HubError",
    "IdentityProviderUnavailable",
    "InvalidClient",
    "InvalidContact",
    "InvalidIdentifier",
    "InvalidScope",
    "InvalidToken",
    "MethodNotAllowed",
    "NestingTooDeep",
    "NotFound",
    "ParameterNotAllowed",
    "PayloadTooLarge",
    "PurposeNotAllowed",
    "RegistryError",
    "RegistryTimeout",
    "RegistryUnavailable",
    "ServerBusy",
    "ServiceUnavailable",
    "StorageError",
    "TokenRequestRefused",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedGrantType",
    "UnsupportedMediaType",
    "ValidationFailed",
    "WebhookUrlRefused",
]

#: Problem type URIs are stable identifiers; they need not resolve, but the
#: operator guide documents each one under this base.
PROBLEM_BASE = "https://oncehub.gov.gr/problems/"


class HubError(Exception):
    """The root of every error the hub raises on purpose."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"
    #: The title and a general explanation in Greek, for ``Accept-Language: el``.
    title_el: ClassVar[str] = "Εσωτερικό σφάλμα"
    detail_el: ClassVar[str] = (
        "Κάτι πήγε στραβά στον Κόμβο. Δοκιμάστε ξανά· αν επιμένει, αναφέρετε τον κωδικό αιτήματος."
    )

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extensions = extensions

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def diagnostics(self) -> str:
        """A human-readable explanation for the CLI and the logs."""
        return f"{self.title}: {self.detail}"

    def to_problem(self, instance: str | None = None, language: str = "en") -> dict[str, Any]:
        """The RFC 9457 problem document for this error, in English or Greek (``el``).

        English is for machines and keeps the specific detail; Greek gives the
        leaf's own sentence, since a detail is written where the error is raised.
        The ``type`` URI is the same in both.
        """
        greek = language == "el"
        problem: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title_el if greek else self.title,
            "status": self.status,
            "detail": self.detail_el if greek else self.detail,
        }
        if instance:
            problem["instance"] = instance
        problem.update(self.extensions)
        return problem


class ConfigError(HubError):
    slug = "configuration"
    title = "Configuration error"
    title_el = "Σφάλμα ρυθμίσεων"
    detail_el = "Οι ρυθμίσεις του Κόμβου δεν είναι σωστές."


class BadRequest(HubError):
    status = 400
    slug = "bad-request"
    title = "Bad request"
    title_el = "Λανθασμένο αίτημα"
    detail_el = "Το αίτημα δεν είναι σωστό."


class InvalidIdentifier(BadRequest):
    slug = "invalid-identifier"
    title = "Invalid citizen identifier"
    title_el = "Λανθασμένο αναγνωριστικό πολίτη"
    detail_el = "Ο ΑΦΜ ή ο ΑΜΚΑ δεν είναι έγκυρος: ελέγξτε τα ψηφία του."


class InvalidContact(BadRequest):
    slug = "invalid-contact"
    title = "Invalid contact point"
    title_el = "Λανθασμένα στοιχεία επικοινωνίας"
    detail_el = (
        "Η διεύθυνση email ή ο αριθμός κινητού δεν είναι έγκυρος, "
        "ή ο κωδικός επιβεβαίωσης δεν είναι σωστός."
    )


class ValidationFailed(BadRequest):
    slug = "validation-failed"
    title = "Request validation failed"
    title_el = "Το αίτημα δεν πέρασε τον έλεγχο"
    detail_el = "Το αίτημα δεν συμφωνεί με την περιγραφή της διεπαφής: ελέγξτε τα πεδία του."


class NestingTooDeep(BadRequest):
    """A JSON document nested deeper than the hub parses.

    Parsers recurse once per level, so a body of a few hundred kilobytes of
    brackets would exhaust the interpreter's stack; it is refused unread.
    """

    slug = "nesting-too-deep"
    title = "JSON nested too deeply"
    title_el = "Υπερβολικά εμφωλευμένο JSON"
    detail_el = "Το έγγραφο JSON έχει περισσότερα επίπεδα από όσα δέχεται ο κόμβος (έως 64)."


class WebhookUrlRefused(BadRequest):
    """A webhook URL the hub will not call: not https, or reaching an internal address.

    The hub calls these URLs from inside its own network, so a URL that
    resolves to loopback, a private or link-local address (a cloud metadata
    service, a database) would turn the hub into a tool for reaching them.
    """

    slug = "webhook-url-refused"
    title = "Webhook URL refused"
    title_el = "Η διεύθυνση webhook δεν γίνεται δεκτή"
    detail_el = (
        "Η διεύθυνση πρέπει να είναι https και να οδηγεί σε δημόσια διεύθυνση "
        "που επιτρέπει ο διαχειριστής του Κόμβου."
    )


class TokenRequestRefused(BadRequest):
    """A token request the token endpoint cannot act on (``invalid_request``).

    ``oauth_error`` is the RFC 6749 §5.2 error code the token endpoint
    answers with, beside the problem members, so that OAuth libraries show it.
    """

    slug = "invalid-token-request"
    title = "Invalid token request"
    title_el = "Λανθασμένο αίτημα διακριτικού"
    detail_el = "Το αίτημα προς το σημείο έκδοσης διακριτικών δεν είναι πλήρες ή σωστό."
    oauth_error: ClassVar[str] = "invalid_request"


class UnsupportedGrantType(TokenRequestRefused):
    slug = "unsupported-grant-type"
    title = "Unsupported grant type"
    title_el = "Μη υποστηριζόμενος τύπος παραχώρησης"
    detail_el = "Υποστηρίζεται μόνο η παραχώρηση client_credentials."
    oauth_error = "unsupported_grant_type"


class InvalidScope(TokenRequestRefused):
    slug = "invalid-scope"
    title = "Invalid scope"
    title_el = "Μη έγκυρο εύρος"
    detail_el = "Το ζητούμενο εύρος δεν αντιστοιχεί σε σκοπό που επιτρέπεται στον φορέα."
    oauth_error = "invalid_scope"


class Unauthorized(HubError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"
    title_el = "Χρειάζεται ταυτοποίηση"
    detail_el = "Το αίτημα χρειάζεται έγκυρο διακριτικό πρόσβασης."


class InvalidToken(Unauthorized):
    slug = "invalid-token"
    title = "Invalid token"
    title_el = "Μη έγκυρο διακριτικό"
    detail_el = "Το διακριτικό πρόσβασης δεν είναι έγκυρο ή έχει λήξει."


class InvalidClient(InvalidToken):
    """The client assertion does not authenticate the agency (RFC 7523 §3.2).

    400, the default of RFC 6749 §5.2: a 401 would have to name an HTTP
    authentication scheme, and private_key_jwt authenticates in the body.
    """

    status = 400
    slug = "invalid-client"
    title = "Client authentication failed"
    title_el = "Η ταυτοποίηση του φορέα απέτυχε"
    detail_el = "Η υπογεγραμμένη δήλωση του φορέα (client assertion) δεν τον ταυτοποιεί."
    oauth_error: ClassVar[str] = "invalid_client"


class Forbidden(HubError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"
    title_el = "Δεν επιτρέπεται"
    detail_el = "Δεν έχετε δικαίωμα για αυτή την ενέργεια."


class PurposeNotAllowed(Forbidden):
    slug = "purpose-not-allowed"
    title = "Purpose not allowed"
    title_el = "Ο σκοπός δεν επιτρέπεται"
    detail_el = "Ο δηλωμένος σκοπός δεν επιτρέπει σε αυτόν τον φορέα αυτά τα δεδομένα."


class ParameterNotAllowed(Forbidden):
    """A purpose parameter the purpose does not declare, or a value it does not allow.

    Parameters widen what a request learns (owning property *where*), so
    their values come from the agency's registered jurisdiction or a closed
    set in the catalogue, never from the agency's say-so.
    """

    slug = "parameter-not-allowed"
    title = "Parameter not allowed"
    title_el = "Η παράμετρος δεν επιτρέπεται"
    detail_el = (
        "Η τιμή της παραμέτρου δεν επιτρέπεται για αυτόν τον φορέα: "
        "δεκτή είναι μόνο η δική του αρμοδιότητα ή μία από τις τιμές του καταλόγου."
    )


class ConsentRequired(Forbidden):
    slug = "consent-required"
    title = "Consent required"
    title_el = "Χρειάζεται συγκατάθεση"
    detail_el = "Ο σκοπός απαιτεί τη συγκατάθεση του πολίτη: ανοίξτε αίτημα συγκατάθεσης."


class NotFound(HubError):
    status = 404
    slug = "not-found"
    title = "Not found"
    title_el = "Δεν βρέθηκε"
    detail_el = "Δεν υπάρχει τέτοιος πόρος."


class CitizenNotFound(NotFound):
    slug = "citizen-not-found"
    title = "Citizen not found"
    title_el = "Ο πολίτης δεν βρέθηκε"
    detail_el = "Τα μητρώα δεν γνωρίζουν πολίτη με αυτό το αναγνωριστικό."


class MethodNotAllowed(HubError):
    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"
    title_el = "Η μέθοδος δεν επιτρέπεται"
    detail_el = "Αυτή η διαδρομή δεν δέχεται αυτή τη μέθοδο."


class Conflict(HubError):
    status = 409
    slug = "conflict"
    title = "Conflict"
    title_el = "Σύγκρουση"
    detail_el = "Η κατάσταση του πόρου δεν επιτρέπει αυτή την ενέργεια."


class PayloadTooLarge(HubError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"
    title_el = "Πολύ μεγάλο αίτημα"
    detail_el = "Το σώμα του αιτήματος είναι μεγαλύτερο από το επιτρεπτό."


class UnsupportedMediaType(HubError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"
    title_el = "Μη αποδεκτός τύπος περιεχομένου"
    detail_el = "Ο τύπος περιεχομένου του αιτήματος δεν γίνεται δεκτός εδώ."


class TooManyRequests(HubError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"
    title_el = "Πάρα πολλά αιτήματα"
    detail_el = "Στείλατε πάρα πολλά αιτήματα: δοκιμάστε ξανά αργότερα."


class StorageError(HubError):
    status = 503
    slug = "storage-unavailable"
    title = "Storage unavailable"
    title_el = "Η αποθήκευση δεν είναι διαθέσιμη"
    detail_el = "Η βάση δεδομένων δεν είναι διαθέσιμη: δοκιμάστε ξανά σε λίγο."


class ServiceUnavailable(HubError):
    """The hub is not ready for this request (for example, no keys loaded)."""

    status = 503
    slug = "not-ready"
    title = "Service not ready"
    title_el = "Η υπηρεσία δεν είναι έτοιμη"
    detail_el = "Ο Κόμβος δεν είναι έτοιμος για αυτό το αίτημα: δοκιμάστε ξανά σε λίγο."


class IdentityProviderUnavailable(ServiceUnavailable):
    """The citizens' identity issuer (its discovery, keys or token endpoint) failed us.

    A citizen token that cannot be checked because of it is neither valid nor
    forged: the answer is 503, so that clients try again instead of signing out.
    """

    slug = "identity-provider-unavailable"
    title = "Identity provider unavailable"
    title_el = "Ο πάροχος ταυτότητας δεν είναι διαθέσιμος"
    detail_el = "Ο πάροχος ταυτότητας των πολιτών δεν απαντά: δοκιμάστε ξανά σε λίγο."


class ServerBusy(ServiceUnavailable):
    """Every worker for this kind of work is busy and its queue is full.

    The client is told when to try again (``Retry-After``) rather than kept
    waiting in a queue that only grows.
    """

    slug = "busy"
    title = "Busy"
    title_el = "Απασχολημένος κόμβος"
    detail_el = "Όλοι οι εργάτες για αυτή την εργασία είναι απασχολημένοι· δοκιμάστε ξανά σε λίγο."


class RegistryError(HubError):
    """A registry answered wrongly: a fault, a malformed or hostile reply."""

    status = 502
    slug = "registry-error"
    title = "Registry error"
    title_el = "Σφάλμα μητρώου"
    detail_el = "Ένα μητρώο απάντησε λανθασμένα."

    def __init__(self, detail: str | None = None, *, transient: bool = False, **extensions: Any):
        super().__init__(detail, **extensions)
        #: Whether trying again may help (a server fault rather than a bad answer).
        self.transient = transient


class RegistryUnavailable(RegistryError):
    """A registry could not be reached, or its circuit is open."""

    status = 503
    slug = "registry-unavailable"
    title = "Registry unavailable"
    title_el = "Το μητρώο δεν είναι διαθέσιμο"
    detail_el = "Ένα μητρώο δεν είναι διαθέσιμο: δοκιμάστε ξανά σε λίγο."


class RegistryTimeout(RegistryError):
    status = 504
    slug = "registry-timeout"
    title = "Registry timeout"
    title_el = "Το μητρώο άργησε"
    detail_el = "Ένα μητρώο δεν απάντησε εγκαίρως: δοκιμάστε ξανά σε λίγο."


class DeliveryError(HubError):
    """A notification provider (SMTP server, SMS or Viber gateway) did not take a message."""

    status = 502
    slug = "delivery-failed"
    title = "Notification delivery failed"
    title_el = "Η αποστολή ειδοποίησης απέτυχε"
    detail_el = "Ο πάροχος αποστολής δεν δέχτηκε το μήνυμα."

    def __init__(self, detail: str | None = None, *, permanent: bool = False, **extensions: Any):
        super().__init__(detail, **extensions)
        #: Whether trying again cannot help (the provider refused this address).
        self.permanent = permanent
