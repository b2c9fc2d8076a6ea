"""The API's operationIds and the handlers that serve them.

The spec names each operation with a stable camelCase id (``requestEvidence``),
which generated clients turn into method names; a Python path there would
leak the hub's module layout into every client and rename their methods
whenever a module moved. This table is the one place that ties the two
together, and :class:`OperationResolver` gives it to connexion. A test checks
that every operationId of the spec is here and every entry is in the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from connexion.exceptions import ResolverError
from connexion.resolver import Resolver

from hub.api import (
    audit,
    auth,
    cases,
    catalog,
    certificates,
    consent,
    evidence,
    notifications,
    ops,
    trust,
    verify,
    webhooks,
)

__all__ = ["HANDLERS", "OperationResolver"]

HANDLERS: Final[Mapping[str, Callable[..., Any]]] = {
    # auth
    "requestToken": auth.token,
    "getAuthorizationServerMetadata": auth.metadata,
    "getTokenKeys": auth.token_jwks,
    # evidence
    "requestEvidence": evidence.request_evidence,
    # catalog
    "getMyCatalog": catalog.agency_catalog,
    "listEvidenceTypes": catalog.evidence_types,
    # ops
    "checkLiveness": ops.healthz,
    "checkReadiness": ops.readyz,
    "getMetrics": ops.metrics,
    # audit
    "getLatestCheckpoint": audit.latest_checkpoint,
    "getWitnessedCheckpoint": audit.witnessed_checkpoint,
    "listCheckpoints": audit.checkpoint_history,
    "createCheckpoint": audit.make_checkpoint,
    "getLogKey": audit.log_key,
    "listLogKeys": audit.log_keys,
    "getInclusionProof": audit.inclusion_proof,
    "getConsistencyProof": audit.consistency_proof,
    "searchAuditEntries": audit.search_entries,
    "getAuditEntry": audit.get_entry,
    # certificates
    "issueCertificate": certificates.issue_certificate,
    "listMyCertificates": certificates.list_certificates,
    "downloadMyCertificate": certificates.download_certificate,
    "revokeCertificate": certificates.revoke_certificate,
    # verification
    "verifyDocument": verify.verify_document,
    "verifyCode": verify.verify_code,
    # trust
    "getSealKeys": trust.jwks,
    "getCaChain": trust.ca_chain,
    "getCrl": trust.crl,
    "getPkiObject": trust.pki_object,
    # consent
    "createConsentRequest": consent.create_request,
    "getConsentRequest": consent.get_request,
    "listMyConsentRequests": consent.my_requests,
    "getMyConsentRequest": consent.get_my_request,
    "previewMyConsentRequest": consent.preview_request,
    "decideMyConsentRequest": consent.decide_request,
    "listMyConsents": consent.my_consents,
    "revokeMyConsent": consent.revoke_consent,
    "getMyConsentReceipt": consent.consent_receipt,
    "getMyAccessLog": consent.my_access_log,
    # notifications
    "getMyContacts": notifications.my_contacts,
    "setMyNotificationLanguage": notifications.set_language,
    "startMyContactVerification": notifications.start_contact_verification,
    "confirmMyContact": notifications.confirm_contact,
    "removeMyContact": notifications.remove_contact,
    "getMyNotificationPreferences": notifications.my_preferences,
    "setMyNotificationPreferences": notifications.set_preferences,
    "listMyNotifications": notifications.my_notifications,
    "recordDeliveryReceipt": notifications.delivery_receipt,
    # cases
    "updateCase": cases.update_case,
    "getCase": cases.get_case,
    "listMyCases": cases.my_cases,
    # webhooks
    "createWebhook": webhooks.create_webhook,
    "listWebhooks": webhooks.list_webhooks,
    "deleteWebhook": webhooks.delete_webhook,
    "listWebhookDeliveries": webhooks.list_deliveries,
}


def _handler(operation_id: str) -> Callable[..., Any]:
    try:
        return HANDLERS[operation_id]
    except KeyError:
        raise ResolverError(
            f"operationId {operation_id!r} has no handler in hub/api/operations.py"
        ) from None


class OperationResolver(Resolver):  # type: ignore[misc]
    """Connexion's resolver, looking operationIds up in :data:`HANDLERS`."""

    def __init__(self) -> None:
        super().__init__(function_resolver=_handler)
