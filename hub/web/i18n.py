"""The pages' words in Greek and English, kept in one table.

Citizens meet the hub in Greek first, so Greek is the default and English
is a switch (``?lang=en``, remembered in a cookie). Templates ask for a key
through ``t(key)``; a key missing from the table shows itself, which a test
catches, rather than failing the page.

These are the pages' own messages. The words for what the hub keeps as codes
(agencies, purposes, actions, outcomes, fields and their values) live in the
catalogue, beside the codes, and pages read them through ``hub/web/_words.py``.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Language", "has_words", "translate"]

Language = Literal["el", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("el", "en")
DEFAULT_LANGUAGE: Final[Language] = "el"

_WORDS: Final[dict[str, tuple[str, str]]] = {
    # The frame of every page.
    "state": ("ΕΛΛΗΝΙΚΗ ΔΗΜΟΚΡΑΤΙΑ", "HELLENIC REPUBLIC"),
    "service": ("Κόμβος Διαλειτουργικότητας", "Interoperability Hub"),
    "skip": ("Μετάβαση στο κύριο περιεχόμενο", "Skip to main content"),
    "switch_language": ("English", "Ελληνικά"),
    "switch_language_label": ("Switch to English", "Αλλαγή στα Ελληνικά"),
    "nav": ("Κύρια πλοήγηση", "Main navigation"),
    "nav_verify": ("Επαλήθευση εγγράφου", "Verify a document"),
    "nav_me": ("Η θυρίδα μου", "My area"),
    "nav_audit": ("Έλεγχος πρόσβασης", "Access audit"),
    "signin": ("Σύνδεση", "Sign in"),
    "signout": ("Αποσύνδεση", "Sign out"),
    "signed_in_as": ("Συνδεδεμένος/η ως", "Signed in as"),
    "footer": (
        "Υπηρεσία του Εθνικού Κόμβου Διαλειτουργικότητας. Τα δεδομένα σας ανταλλάσσονται "
        "μόνο με νομική βάση ή με τη συγκατάθεσή σας, και κάθε πρόσβαση καταγράφεται.",
        "A service of the National Interoperability Hub. Your data is exchanged only on a "
        "legal basis or with your consent, and every access is logged.",
    ),
    "error_summary": ("Υπάρχει πρόβλημα", "There is a problem"),
    "athens_time": ("ώρα Ελλάδας", "Athens time"),
    "date_format_hint": ("Μορφή ΗΗ/ΜΜ/ΕΕΕΕ, π.χ. 31/12/2026.", "As DD/MM/YYYY, e.g. 31/12/2026."),
    # What the catalogue does not name is shown with these words, never as a code.
    "unnamed": ("Χωρίς ονομασία", "Unnamed"),
    "purpose_other": ("Άλλος σκοπός", "Another purpose"),
    "type_other": ("Άλλο είδος δεδομένων", "Another kind of data"),
    "field_other": ("Άλλο πεδίο", "Another field"),
    "value_other": ("Άλλη τιμή", "Another value"),
    "back": ("Πίσω", "Back"),
    "older": ("Παλαιότερες εγγραφές", "Older entries"),
    "newest": ("Πίσω στις νεότερες", "Back to the newest"),
    "none_yet": ("Δεν υπάρχει τίποτα εδώ ακόμη.", "There is nothing here yet."),
    "when": ("Πότε", "When"),
    "who": ("Ποιος", "Who"),
    "why": ("Γιατί", "Why"),
    "what": ("Τι", "What"),
    "result": ("Αποτέλεσμα", "Result"),
    "status": ("Κατάσταση", "Status"),
    "actions": ("Ενέργειες", "Actions"),
    # Errors.
    "err_400": ("Κάτι δεν είναι σωστό στο αίτημα", "Something is wrong with the request"),
    "err_401": ("Χρειάζεται σύνδεση", "You need to sign in"),
    "err_403": ("Δεν επιτρέπεται", "Not allowed"),
    "err_404": ("Η σελίδα δεν βρέθηκε", "Page not found"),
    "err_405": ("Η ενέργεια δεν υποστηρίζεται", "This action is not supported"),
    "err_409": ("Η κατάσταση άλλαξε", "Things have changed"),
    "err_413": ("Το αρχείο είναι πολύ μεγάλο", "The file is too large"),
    "err_422": ("Ελέγξτε τα στοιχεία", "Check what you entered"),
    "err_429": ("Πάρα πολλά αιτήματα", "Too many requests"),
    "err_500": ("Κάτι πήγε στραβά", "Something went wrong"),
    "err_502": ("Ένα μητρώο δεν απάντησε σωστά", "A registry gave a bad answer"),
    "err_503": ("Η υπηρεσία δεν είναι διαθέσιμη", "The service is unavailable"),
    "err_504": ("Ένα μητρώο άργησε να απαντήσει", "A registry took too long"),
    "err_hint": (
        "Δοκιμάστε ξανά σε λίγο. Αν το πρόβλημα επιμένει, αναφέρετε τον κωδικό αιτήματος.",
        "Please try again shortly. If the problem persists, quote the request reference.",
    ),
    "err_detail": ("Λεπτομέρειες", "Details"),
    "err_reference": ("Κωδικός αιτήματος", "Request reference"),
    "err_csrf": (
        "Η φόρμα έληξε ή δεν στάλθηκε από αυτή την υπηρεσία. Ανοίξτε ξανά τη σελίδα και "
        "δοκιμάστε πάλι.",
        "The form has expired or was not sent from this service. Open the page again and retry.",
    ),
    "go_home": ("Μετάβαση στην επαλήθευση εγγράφων", "Go to document verification"),
    # Verification.
    "verify_title": ("Επαλήθευση εγγράφου", "Verify a document"),
    "verify_lead": (
        "Ελέγξτε αν ένα πιστοποιητικό που σας έδωσαν είναι γνήσιο, χωρίς σύνδεση. "
        "Το αρχείο ελέγχεται και δεν αποθηκεύεται.",
        "Check whether a certificate you were given is genuine, without signing in. "
        "The file is checked and not stored.",
    ),
    "verify_upload_h": ("Ανέβασμα του αρχείου", "Upload the file"),
    "verify_upload_label": ("Αρχείο PDF του πιστοποιητικού", "The certificate's PDF file"),
    "verify_upload_json": (
        "Δέχεται και σφραγισμένη απάντηση φορέα (JSON ή JWS).",
        "A sealed answer given to an agency (JSON or JWS) is accepted too.",
    ),
    "verify_upload_hint": (
        "Το αρχείο ελέγχεται και δεν αποθηκεύεται. Μέγιστο μέγεθος:",
        "The file is checked and not stored. Largest size:",
    ),
    "verify_upload_button": ("Έλεγχος αρχείου", "Check the file"),
    "verify_code_h": ("Ή πληκτρολογήστε τον κωδικό επαλήθευσης", "Or type the verification code"),
    "verify_code_label": ("Κωδικός επαλήθευσης", "Verification code"),
    "verify_code_hint": (
        "Βρίσκεται κάτω από τον κωδικό QR του πιστοποιητικού.",
        "It is printed below the certificate's QR code.",
    ),
    "verify_code_button": ("Έλεγχος κωδικού", "Check the code"),
    "verify_no_file": ("Επιλέξτε ένα αρχείο PDF.", "Choose a PDF file."),
    "verify_no_code": ("Πληκτρολογήστε τον κωδικό επαλήθευσης.", "Type the verification code."),
    "verify_again": ("Έλεγχος άλλου εγγράφου", "Check another document"),
    "verdict_valid": ("Έγκυρο", "Valid"),
    "verdict_valid_text": (
        "Το έγγραφο σφραγίστηκε από τον Κόμβο και δεν έχει αλλάξει.",
        "The document was sealed by the hub and has not been altered.",
    ),
    "verdict_code_valid_text": (
        "Ο Κόμβος εξέδωσε πιστοποιητικό με αυτόν τον κωδικό και ισχύει. Συγκρίνετε τα "
        "παρακάτω με το έγγραφο που κρατάτε.",
        "The hub issued a certificate with this code and it is in force. Compare the "
        "details below with the paper you hold.",
    ),
    "verdict_invalid": ("Μη έγκυρο", "Invalid"),
    "verdict_invalid_text": (
        "Μην βασιστείτε σε αυτό το έγγραφο: η σφραγίδα του δεν επαληθεύεται.",
        "Do not rely on this document: its seal does not verify.",
    ),
    "verdict_modified_text": (
        "Μην βασιστείτε σε αυτό το έγγραφο: η σφραγίδα του είναι γνήσια, αλλά το αρχείο "
        "άλλαξε μετά τη σφράγιση.",
        "Do not rely on this document: its seal is genuine, but the file was changed "
        "after it was sealed.",
    ),
    "modified_after": ("Άλλαξε μετά τη σφράγιση", "Changed after sealing"),
    # What a revision appended after the seal changed (PdfReport.modifications).
    "mod:document information changed": (
        "τα στοιχεία του εγγράφου (τίτλος, θέμα, λέξεις-κλειδιά)",
        "document information changed",
    ),
    "mod:XMP metadata changed": ("τα μεταδεδομένα XMP", "XMP metadata changed"),
    "mod:pages added or removed": ("προστέθηκαν ή αφαιρέθηκαν σελίδες", "pages added or removed"),
    "mod:page content changed": ("το περιεχόμενο σελίδας", "page content changed"),
    "mod:annotation added": ("προστέθηκε σχόλιο ή σήμανση", "annotation added"),
    "mod:annotation removed": ("αφαιρέθηκε σχόλιο ή σήμανση", "annotation removed"),
    "mod:form field added": ("προστέθηκε πεδίο φόρμας", "form field added"),
    "mod:form field filled in": ("συμπληρώθηκε πεδίο φόρμας", "form field filled in"),
    "mod:form field removed": ("αφαιρέθηκε πεδίο φόρμας", "form field removed"),
    "mod:signature field added": ("προστέθηκε πεδίο υπογραφής", "signature field added"),
    "mod:second signature": ("προστέθηκε δεύτερη υπογραφή", "second signature"),
    "mod:the document's content changed": (
        "το περιεχόμενο του εγγράφου",
        "the document's content changed",
    ),
    "mod:the document's structure changed": (
        "η δομή του εγγράφου",
        "the document's structure changed",
    ),
    "verdict_revoked": ("Ανακλήθηκε", "Revoked"),
    "verdict_revoked_text": (
        "Το πιστοποιητικό ανακλήθηκε και δεν ισχύει πλέον.",
        "The certificate was revoked and is no longer in force.",
    ),
    "verdict_expired": ("Έληξε", "Expired"),
    "verdict_expired_text": (
        "Το κλειδί που το σφράγισε δεν ήταν σε ισχύ.",
        "The key that sealed it was not in force.",
    ),
    "verdict_unknown": ("Άγνωστο", "Unknown"),
    "verdict_unknown_text": (
        "Ο Κόμβος δεν γνωρίζει έγγραφο με αυτά τα στοιχεία.",
        "The hub knows no document matching this.",
    ),
    "verdict_indeterminate": ("Αβέβαιο", "Indeterminate"),
    "verdict_indeterminate_text": (
        "Ο έλεγχος δεν μπόρεσε να ολοκληρωθεί. Δοκιμάστε ξανά αργότερα.",
        "The check could not be completed. Try again later.",
    ),
    "sealed_by": ("Σφραγίστηκε από", "Sealed by"),
    "sealed_at": ("Σφραγίστηκε στις", "Sealed on"),
    "seal_level": ("Επίπεδο σφραγίδας (PAdES)", "Seal level (PAdES)"),
    "sealed_key": ("Κλειδί σφράγισης", "Sealing key"),
    "issued_at": ("Εκδόθηκε στις", "Issued on"),
    "code": ("Κωδικός", "Code"),
    "type": ("Είδος", "Type"),
    "holder": ("Κάτοχος", "Holder"),
    "revoked_at": ("Ανακλήθηκε στις", "Revoked on"),
    "revocation_reason": ("Λόγος ανάκλησης", "Reason for revocation"),
    "what_failed": ("Τι δεν πέρασε τον έλεγχο", "What failed"),
    "matches_issued": ("Ίδιο με αυτό που εκδόθηκε", "Same as the one issued"),
    "yes": ("Ναι", "Yes"),
    "no": ("Όχι", "No"),
    "technical": ("Τεχνικές λεπτομέρειες", "Technical details"),
    # Why a document failed, by the report's stable codes: the ETSI sub-indication
    # and what the hub's records say. A code without words here gets reason_generic.
    "reason_FORMAT_FAILURE": (
        "Το αρχείο δεν έχει τη μορφή σφραγισμένου εγγράφου του Κόμβου, ή άλλαξε μετά τη σφράγιση.",
        "The file is not in the form of a document sealed by the hub, or it was changed "
        "after sealing.",
    ),
    "reason_HASH_FAILURE": (
        "Το έγγραφο αλλοιώθηκε μετά τη σφράγισή του.",
        "The document was altered after it was sealed.",
    ),
    "reason_SIG_CRYPTO_FAILURE": (
        "Η ψηφιακή σφραγίδα δεν αντιστοιχεί στο περιεχόμενο του εγγράφου.",
        "The digital seal does not match the document's content.",
    ),
    "reason_REVOKED": (
        "Το πιστοποιητικό της σφραγίδας έχει ανακληθεί.",
        "The seal's certificate has been revoked.",
    ),
    "reason_REVOKED_NO_POE": (
        "Το πιστοποιητικό της σφραγίδας έχει ανακληθεί.",
        "The seal's certificate has been revoked.",
    ),
    "reason_REVOKED_CA_NO_POE": (
        "Η αρχή που εξέδωσε το πιστοποιητικό της σφραγίδας έχει ανακληθεί.",
        "The authority that issued the seal's certificate has been revoked.",
    ),
    "reason_NOT_YET_VALID": (
        "Η σφραγίδα φέρει χρόνο που δεν έχει έρθει ακόμη.",
        "The seal bears a time that has not yet come.",
    ),
    "reason_EXPIRED": (
        "Το πιστοποιητικό της σφραγίδας έχει λήξει.",
        "The seal's certificate has expired.",
    ),
    "reason_OUT_OF_BOUNDS_NO_POE": (
        "Το πιστοποιητικό της σφραγίδας έχει λήξει.",
        "The seal's certificate has expired.",
    ),
    "reason_OUT_OF_BOUNDS_NOT_REVOKED": (
        "Το πιστοποιητικό της σφραγίδας έχει λήξει.",
        "The seal's certificate has expired.",
    ),
    "reason_REVOCATION_OUT_OF_BOUNDS_NO_POE": (
        "Οι πληροφορίες ανάκλησης για τη σφραγίδα δεν είναι επίκαιρες.",
        "The revocation information for the seal is out of date.",
    ),
    "reason_NO_CERTIFICATE_CHAIN_FOUND": (
        "Η σφραγίδα δεν προέρχεται από αρχή που εμπιστεύεται ο Κόμβος.",
        "The seal does not come from an authority the hub trusts.",
    ),
    "reason_NO_SIGNING_CERTIFICATE_FOUND": (
        "Η σφραγίδα δεν φέρει το πιστοποιητικό του σφραγιστή.",
        "The seal does not carry the sealer's certificate.",
    ),
    "reason_SIG_CONSTRAINTS_FAILURE": (
        "Το πιστοποιητικό της σφραγίδας δεν προορίζεται για σφράγιση εγγράφων.",
        "The seal's certificate is not meant for sealing documents.",
    ),
    "reason_CHAIN_CONSTRAINTS_FAILURE": (
        "Η αλυσίδα πιστοποιητικών της σφραγίδας δεν τηρεί τους κανόνες της.",
        "The seal's certificate chain breaks its rules.",
    ),
    "reason_CERTIFICATE_CHAIN_GENERAL_FAILURE": (
        "Η αλυσίδα πιστοποιητικών της σφραγίδας δεν επαληθεύεται.",
        "The seal's certificate chain does not verify.",
    ),
    "reason_CRYPTO_CONSTRAINTS_FAILURE": (
        "Η σφραγίδα χρησιμοποιεί αλγόριθμο ή κλειδί που ο Κόμβος δεν δέχεται.",
        "The seal uses an algorithm or key the hub does not accept.",
    ),
    "reason_TRY_LATER": (
        "Δεν υπάρχουν ακόμη πληροφορίες ανάκλησης. Δοκιμάστε ξανά αργότερα.",
        "Revocation information is not available yet. Try again later.",
    ),
    "reason_not_registered": (
        "Ο Κόμβος δεν έχει εκδώσει πιστοποιητικό με αυτόν τον κωδικό.",
        "The hub has issued no certificate with this code.",
    ),
    "reason_not_as_issued": (
        "Το αρχείο δεν είναι ακριβώς αυτό που εξέδωσε ο Κόμβος με αυτόν τον κωδικό.",
        "The file is not exactly the one the hub issued under this code.",
    ),
    "reason_revoked": (
        "Το πιστοποιητικό ανακλήθηκε από τον Κόμβο.",
        "The certificate was revoked by the hub.",
    ),
    "reason_generic": (
        "Ο έλεγχος της σφραγίδας δεν ολοκληρώθηκε με επιτυχία.",
        "The check of the seal did not succeed.",
    ),
    # Sign-in.
    "signin_title": ("Σύνδεση", "Sign in"),
    "signin_dev_notice": (
        "Περιβάλλον ανάπτυξης: επιλέξτε έναν δοκιμαστικό πολίτη ή δώστε όνομα ελεγκτή. "
        "Στην παραγωγή η σύνδεση γίνεται μέσω του παρόχου ταυτότητας.",
        "Development environment: pick a demo citizen or enter an auditor's name. "
        "In production, sign-in goes through the identity provider.",
    ),
    "signin_citizen_h": ("Ως πολίτης", "As a citizen"),
    "signin_with_issuer": (
        "Σύνδεση μέσω του παρόχου ταυτότητας",
        "Sign in with the identity provider",
    ),
    "signin_citizen_legend": ("Δοκιμαστικός πολίτης", "Demo citizen"),
    "signin_citizen_button": ("Σύνδεση ως πολίτης", "Sign in as a citizen"),
    "signin_auditor_h": ("Ως ελεγκτής", "As an auditor"),
    "signin_auditor_label": ("Όνομα ελεγκτή", "Auditor's name"),
    "signin_auditor_hint": ("Έως 64 χαρακτήρες.", "Up to 64 characters."),
    "signin_auditor_button": ("Σύνδεση ως ελεγκτής", "Sign in as an auditor"),
    "signin_pick_citizen": ("Επιλέξτε έναν πολίτη.", "Pick a citizen."),
    "signin_auditor_name": (
        "Δώστε όνομα ελεγκτή, από 1 έως 64 χαρακτήρες.",
        "Enter an auditor name of 1 to 64 characters.",
    ),
    "signin_needed": (
        "Συνδεθείτε για να συνεχίσετε.",
        "Sign in to continue.",
    ),
    "signin_as_citizen_needed": (
        "Αυτή η σελίδα είναι για πολίτες. Συνδεθείτε ως πολίτης.",
        "This page is for citizens. Sign in as a citizen.",
    ),
    "signin_as_auditor_needed": (
        "Αυτή η σελίδα είναι για ελεγκτές. Συνδεθείτε ως ελεγκτής.",
        "This page is for auditors. Sign in as an auditor.",
    ),
    "afm": ("ΑΦΜ", "Tax number (AFM)"),
    "tag_minor": ("ανήλικος/η", "minor"),
    "tag_deceased": ("αποβιώσας/ασα", "deceased"),
    "tag_owns_property": ("έχει ακίνητα", "owns property"),
    "tag_co_owner": ("συνιδιοκτήτης", "co-owner"),
    "tag_usufruct": ("επικαρπία", "usufruct"),
    "tag_insured": ("ασφαλισμένος/η", "insured"),
    "tag_uninsured": ("ανασφάλιστος/η", "uninsured"),
    "tag_single": ("άγαμος/η", "single"),
    "tag_married": ("έγγαμος/η", "married"),
    "tag_divorced": ("διαζευγμένος/η", "divorced"),
    "tag_widowed": ("σε χηρεία", "widowed"),
    "tag_namesake": ("συνωνυμία", "namesake"),
    # The citizen's area.
    "me_title": ("Η θυρίδα μου", "My area"),
    "me_lead": (
        "Τα πιστοποιητικά σας, οι συγκαταθέσεις σας και ποιος είδε τα δεδομένα σας.",
        "Your certificates, your consents and who saw your data.",
    ),
    "me_certificates": ("Πιστοποιητικά", "Certificates"),
    "me_certificates_text": ("Εκδώστε και κατεβάστε πιστοποιητικά.", "Issue and download."),
    "me_consents": ("Συγκαταθέσεις", "Consents"),
    "me_consents_text": ("Δείτε και ανακαλέστε συγκαταθέσεις.", "See and revoke consents."),
    "me_requests": ("Αιτήματα συγκατάθεσης", "Consent requests"),
    "me_requests_text": ("Εγκρίνετε ή αρνηθείτε αιτήματα φορέων.", "Approve or refuse."),
    "me_history": ("Ιστορικό πρόσβασης", "Access history"),
    "me_history_text": (
        "Ποιος είδε τα δεδομένα σας, πότε και γιατί.",
        "Who saw your data, when and why.",
    ),
    "me_checks": ("Επαληθεύσεις πιστοποιητικών", "Certificate checks"),
    "me_checks_text": (
        "Ποιος έλεγξε τα πιστοποιητικά σας.",
        "Who checked your certificates.",
    ),
    "pending_count": ("εκκρεμή", "pending"),
    "cert_request_h": ("Έκδοση νέου πιστοποιητικού", "Issue a new certificate"),
    "cert_type_label": ("Είδος πιστοποιητικού", "Type of certificate"),
    "cert_issue_button": ("Έκδοση", "Issue"),
    "cert_issued": (
        "Το πιστοποιητικό εκδόθηκε. Κωδικός επαλήθευσης:",
        "The certificate was issued. Verification code:",
    ),
    "cert_list_h": ("Τα πιστοποιητικά μου", "My certificates"),
    "download_pdf": ("Λήψη PDF", "Download PDF"),
    # Notifications (/me/notifications).
    "me_notifications": ("Ειδοποιήσεις", "Notifications"),
    "me_notifications_text": (
        "Πώς και για τι σας ενημερώνουμε, με ηλεκτρονικό ταχυδρομείο ή στο κινητό σας, "
        "και τι σας έχει σταλεί.",
        "How and about what we tell you: email, SMS, Viber, and what was sent.",
    ),
    "contacts_h": ("Στοιχεία επικοινωνίας", "Contact details"),
    "contacts_lead": (
        "Χωρίς δικά σας στοιχεία χρησιμοποιούμε όσα έχετε δηλώσει στο Εθνικό Μητρώο "
        "Επικοινωνίας. Κάθε νέο στοιχείο επιβεβαιώνεται με κωδικό που σας στέλνουμε.",
        "Without details of your own we use those you gave the National Contact "
        "Registry. Each new one is confirmed with a code we send to it.",
    ),
    "contact_email": ("Ηλεκτρονικό ταχυδρομείο (email)", "Email"),
    "contact_mobile": ("Κινητό τηλέφωνο", "Mobile phone"),
    "contact_none": ("Κανένα", "None"),
    "contact_source_hub": ("επιβεβαιωμένο εδώ", "confirmed here"),
    "contact_source_registry": (
        "από το Εθνικό Μητρώο Επικοινωνίας",
        "from the National Contact Registry",
    ),
    "contact_new": ("Νέο στοιχείο", "New contact detail"),
    "contact_kind": ("Είδος", "Kind"),
    "contact_address": ("Διεύθυνση email ή αριθμός κινητού", "Email address or mobile number"),
    "contact_send_code": ("Αποστολή κωδικού", "Send a code"),
    "contact_code": ("Κωδικός επιβεβαίωσης (6 ψηφία)", "Confirmation code (6 digits)"),
    "contact_confirm": ("Επιβεβαίωση", "Confirm"),
    "contact_pending": ("Αναμένει επιβεβαίωση", "Waiting for confirmation"),
    "contact_remove": ("Διαγραφή", "Remove"),
    "contact_code_sent": (
        "Σας στείλαμε κωδικό. Πληκτρολογήστε τον παρακάτω για να επιβεβαιώσετε.",
        "We sent you a code. Type it below to confirm.",
    ),
    "contact_confirmed": (
        "Το στοιχείο επικοινωνίας επιβεβαιώθηκε.",
        "The contact detail is confirmed.",
    ),
    "contact_removed": ("Το στοιχείο επικοινωνίας διαγράφηκε.", "The contact detail was removed."),
    "contact_invalid": (
        "Η διεύθυνση email ή ο αριθμός κινητού δεν είναι έγκυρος.",
        "That email address or mobile number is not valid.",
    ),
    "contact_bad_code": (
        "Ο κωδικός δεν είναι σωστός, έχει λήξει ή δοκιμάστηκε πολλές φορές.",
        "The code is wrong, has expired or was tried too often.",
    ),
    "language_h": ("Γλώσσα μηνυμάτων", "Language of messages"),
    "language_el": ("Ελληνικά", "Greek"),
    "language_en": ("Αγγλικά", "English"),
    "save": ("Αποθήκευση", "Save"),
    "saved": ("Οι επιλογές σας αποθηκεύτηκαν.", "Your choices were saved."),
    "preferences_h": ("Τι θέλετε να μαθαίνετε", "What you want to hear about"),
    "preferences_lead": (
        "Για κάθε είδος ειδοποίησης και κανάλι: καμία, αμέσως ή σε ημερήσια σύνοψη.",
        "For each kind of notification and channel: none, at once or in a daily digest.",
    ),
    "pref_kind": ("Ειδοποίηση", "Notification"),
    "channel_email": ("Ηλ. ταχυδρομείο", "Email"),
    "channel_sms": ("Γραπτό μήνυμα (SMS)", "SMS"),
    "channel_viber": ("Μήνυμα Viber", "Viber"),
    "mode_off": ("Καμία", "None"),
    "mode_immediate": ("Αμέσως", "At once"),
    "mode_digest": ("Ημερήσια σύνοψη", "Daily digest"),
    "messages_h": ("Μηνύματα που σας στείλαμε", "Messages we sent you"),
    "message_to": ("Προς", "To"),
    "message_channel": ("Κανάλι", "Channel"),
    "message_status": ("Κατάσταση", "Status"),
    "status_queued": ("Σε αναμονή αποστολής", "Queued"),
    "status_sending": ("Αποστέλλεται", "Sending"),
    "status_sent": ("Στάλθηκε", "Sent"),
    "status_delivered": ("Παραδόθηκε", "Delivered"),
    "status_failed": ("Νέα προσπάθεια σύντομα", "Will be retried"),
    "status_dead": ("Δεν παραδόθηκε", "Not delivered"),
    "status_valid": ("Σε ισχύ", "In force"),
    "status_revoked": ("Ανακλήθηκε", "Revoked"),
    "status_active": ("Ενεργή", "Active"),
    "status_expired": ("Έληξε", "Expired"),
    "status_used": ("Χρησιμοποιήθηκε", "Used"),
    "status_pending": ("Σε αναμονή", "Pending"),
    "status_approved": ("Εγκρίθηκε", "Approved"),
    "status_refused": ("Απορρίφθηκε", "Refused"),
    "consents_h": ("Οι συγκαταθέσεις μου", "My consents"),
    "consent_agency": ("Φορέας", "Agency"),
    "consent_purpose": ("Σκοπός", "Purpose"),
    "consent_data": ("Δεδομένα", "Data"),
    "consent_until": ("Ισχύει έως", "Valid until"),
    "consent_once": ("Μία χρήση", "Single use"),
    "consent_revoke": ("Ανάκληση", "Revoke"),
    "consent_receipt": ("Λήψη αποδεικτικού", "Download the receipt"),
    "consent_revoked_msg": ("Η συγκατάθεση ανακλήθηκε.", "The consent was revoked."),
    "consent_granted_msg": ("Δώσατε τη συγκατάθεσή σας.", "You gave your consent."),
    "request_refused_msg": ("Αρνηθήκατε το αίτημα.", "You refused the request."),
    "requests_h": ("Αιτήματα που περιμένουν απάντηση", "Requests awaiting your answer"),
    "requests_decided_h": ("Προηγούμενα αιτήματα", "Earlier requests"),
    "request_open": ("Προβολή και απάντηση", "View and answer"),
    "request_title": ("Αίτημα συγκατάθεσης", "Consent request"),
    "request_lead": (
        "Ο φορέας ζητά να λάβει τα παρακάτω δεδομένα σας. Η προεπισκόπηση ανακτήθηκε "
        "μόλις τώρα από τα μητρώα και δεν αποθηκεύτηκε.",
        "The agency asks to receive the data below. The preview was fetched just now "
        "from the registries and was not stored.",
    ),
    "request_official": ("Υπάλληλος", "Official"),
    "request_expires": ("Λήγει", "Expires"),
    "preview_h": ("Τι θα λάβει ο φορέας", "What the agency would receive"),
    "field": ("Πεδίο", "Field"),
    "value": ("Τιμή", "Value"),
    "decision_legend": ("Η απάντησή σας", "Your answer"),
    "decision_until": ("Έγκριση έως μια ημερομηνία", "Approve until a date"),
    "decision_until_label": ("Ημερομηνία λήξης", "End date"),
    "decision_until_hint": (
        "Έως ένα έτος από σήμερα. Μπορείτε να ανακαλέσετε οποτεδήποτε.",
        "Up to one year from today. You can revoke at any time.",
    ),
    "decision_once": ("Έγκριση για μία μόνο χρήση", "Approve for a single use"),
    "decision_refuse": ("Άρνηση", "Refuse"),
    "decision_button": ("Υποβολή απάντησης", "Submit your answer"),
    "decision_missing": ("Επιλέξτε μια απάντηση.", "Choose an answer."),
    "decision_bad_date": (
        "Δώστε μια μελλοντική ημερομηνία της μορφής ΗΗ/ΜΜ/ΕΕΕΕ, έως ένα έτος από σήμερα.",
        "Enter a future date as DD/MM/YYYY, at most one year from today.",
    ),
    "latest_day": ("Τελευταία δυνατή ημερομηνία:", "The latest possible date:"),
    "history_title": ("Ιστορικό πρόσβασης", "Access history"),
    "history_lead": (
        "Κάθε πρόσβαση στα δεδομένα σας, και κάθε άρνηση, από τη νεότερη.",
        "Every access to your data, and every denial, newest first.",
    ),
    "checks_title": ("Ποιος έλεγξε τα πιστοποιητικά μου", "Who checked my certificates"),
    "checks_lead": (
        "Κάθε φορά που κάποιος επαλήθευσε ένα πιστοποιητικό σας.",
        "Each time someone verified one of your certificates.",
    ),
    "fields_shared": ("Πεδία που δόθηκαν", "Fields shared"),
    "legal_basis": ("Νομική βάση", "Legal basis"),
    "actor_you": ("Εσείς", "You"),
    "case_reference": ("Αριθμός υπόθεσης της υπηρεσίας", "Agency's case reference"),
    "me_cases": ("Οι υποθέσεις μου", "My applications"),
    "me_cases_text": (
        "Πού βρίσκονται οι αιτήσεις σας στους φορείς.",
        "Where your applications to agencies stand.",
    ),
    "cases_title": ("Οι υποθέσεις μου", "My applications"),
    "cases_lead": (
        "Οι φορείς σάς ενημερώνουν εδώ για την πορεία των αιτήσεών σας, και για τα "
        "δεδομένα που έλαβαν μέσω του Κόμβου για καθεμία.",
        "Agencies tell you here how your applications are progressing, and which data "
        "they obtained through the hub for each.",
    ),
    "case_timeline": ("Ιστορικό", "Timeline"),
    "case_details": ("Λεπτομέρειες", "Details"),
    "case_missing": ("Λείπει το δικαιολογητικό:", "A document is missing:"),
    "case_by": ("έως", "by"),
    "case_agency_fetches": (
        "Ο φορέας μπορεί να το λάβει ο ίδιος μέσω του Κόμβου: δεν χρειάζεται να το προσκομίσετε.",
        "The agency can obtain it itself through the hub: you need not bring it.",
    ),
    "case_issue_certificate": (
        "Εκδώστε το ως πιστοποιητικό εδώ, στη θυρίδα σας",
        "Issue it as a certificate here, in your area",
    ),
    # The auditor's pages.
    "audit_title": ("Αναζήτηση στο αρχείο πρόσβασης", "Search the access log"),
    "audit_lead": (
        "Κάθε αναζήτηση και ανάγνωση καταγράφεται με το όνομά σας.",
        "Every search and read is logged under your name.",
    ),
    "audit_filters": ("Φίλτρα", "Filters"),
    "audit_citizen": ("Πολίτης (ΑΦΜ ή ΑΜΚΑ)", "Citizen (AFM or AMKA)"),
    "audit_agency": ("Φορέας", "Agency"),
    "audit_purpose": ("Σκοπός", "Purpose"),
    "audit_action": ("Ενέργεια", "Action"),
    "audit_outcome": ("Αποτέλεσμα", "Outcome"),
    "audit_since": ("Από (ημερομηνία)", "From (date)"),
    "audit_until": ("Έως και (ημερομηνία)", "Up to and including (date)"),
    "audit_any": ("Οποιοδήποτε", "Any"),
    "audit_search": ("Αναζήτηση", "Search"),
    "audit_results": ("Εγγραφές", "Entries"),
    "audit_subject": ("Υποκείμενο", "Subject"),
    "audit_entry": ("Εγγραφή", "Entry"),
    "audit_bad_citizen": (
        "Δώστε τον πολίτη με τον ΑΦΜ του (9 ψηφία) ή τον ΑΜΚΑ του (11 ψηφία).",
        "Give the citizen's AFM (9 digits) or AMKA (11 digits).",
    ),
    "audit_bad_date": (
        "Δώστε ημερομηνία της μορφής ΗΗ/ΜΜ/ΕΕΕΕ, π.χ. 31/12/2026.",
        "Enter a date as DD/MM/YYYY, for example 31/12/2026.",
    ),
    "audit_bad_range": (
        "Η αρχή πρέπει να προηγείται του τέλους.",
        "The start must come before the end.",
    ),
    "entry_title": ("Εγγραφή του αρχείου", "Log entry"),
    "entry_fields": ("Περιεχόμενο εγγραφής", "What the entry says"),
    "proof_h": ("Απόδειξη ένταξης", "Inclusion proof"),
    "proof_ok": (
        "Επαληθεύτηκε: η εγγραφή περιέχεται στο τελευταίο υπογεγραμμένο σημείο ελέγχου.",
        "Verified: the entry is included in the latest signed checkpoint.",
    ),
    "proof_bad": (
        "ΑΠΟΤΥΧΙΑ: η απόδειξη δεν οδηγεί στη ρίζα του σημείου ελέγχου.",
        "FAILED: the proof does not lead to the checkpoint's root.",
    ),
    "proof_bad_note": (
        "ΑΠΟΤΥΧΙΑ: η υπογραφή του σημείου ελέγχου δεν επαληθεύεται.",
        "FAILED: the checkpoint's signature does not verify.",
    ),
    "proof_pending": (
        "Η εγγραφή είναι νεότερη από το τελευταίο σημείο ελέγχου.",
        "The entry is newer than the latest checkpoint.",
    ),
    "proof_no_checkpoint": ("Δεν υπάρχει ακόμη σημείο ελέγχου.", "There is no checkpoint yet."),
    "checkpoint_now": ("Υπογραφή σημείου ελέγχου τώρα", "Sign a checkpoint now"),
    "checkpoint_size": ("Μέγεθος δέντρου", "Tree size"),
    "checkpoint_root": ("Ρίζα", "Root"),
    "checkpoint_at": ("Υπογράφηκε στις", "Signed on"),
    "leaf_hash": ("Hash φύλλου", "Leaf hash"),
    "proof_hashes": ("Κόμβοι απόδειξης", "Proof hashes"),
    "checkpoints_title": ("Ιστορικό σημείων ελέγχου", "Checkpoint history"),
    "checkpoints_lead": (
        "Κάθε σημείο ελέγχου δεσμεύει το αρχείο μέχρι εκείνο το μέγεθος.",
        "Each checkpoint commits the log up to that size.",
    ),
    # The front door (/).
    "home_title": ("Κόμβος Διαλειτουργικότητας", "Interoperability Hub"),
    "home_lead": (
        "Οι υπηρεσίες παίρνουν τα στοιχεία σας απευθείας από τα μητρώα, μία φορά, με νομική "
        "βάση ή με τη συγκατάθεσή σας, ώστε να μη χρειάζεται να τα προσκομίζετε εσείς.",
        "Public services obtain your data straight from the registries, once, on a legal "
        "basis or with your consent, so that you need not bring it yourself.",
    ),
    "home_verify": (
        "Ελέγξτε αν ένα πιστοποιητικό είναι γνήσιο, χωρίς σύνδεση.",
        "Check that a certificate is genuine, without signing in.",
    ),
    "home_me": (
        "Δείτε ποιος είδε τα στοιχεία σας, δώστε ή ανακαλέστε συγκατάθεση, κατεβάστε "
        "πιστοποιητικά.",
        "See who accessed your data, give or revoke consent, download certificates.",
    ),
    "home_audit": (
        "Για ελεγκτές: αναζήτηση στο αρχείο πρόσβασης και απόδειξη ότι δεν αλλοιώθηκε.",
        "For auditors: search the access log and prove it was not altered.",
    ),
    "home_catalogue": ("Κατάλογος υπηρεσιών", "Service catalogue"),
    "home_catalogue_lead": (
        "Τα στοιχεία που μπορούν να ανταλλάσσονται μέσω του κόμβου:",
        "The evidence that can be exchanged through the hub:",
    ),
    "home_catalogue_certificate": (
        "διατίθεται και ως πιστοποιητικό",
        "also issued as a certificate",
    ),
    "home_catalogue_source": ("Πηγή", "Source"),
    "home_catalogue_fields": ("Στοιχεία", "Fields"),
    "home_directory": (
        "Ο κατάλογος υπηρεσιών σε μορφή JSON",
        "The service directory as JSON",
    ),
    "home_developers": ("Για φορείς και προγραμματιστές", "For agencies and developers"),
    "home_developers_lead": (
        "Οι φορείς συνδέονται με OAuth 2.0 (client credentials, private_key_jwt) και το "
        "REST API που περιγράφεται σε OpenAPI 3.1.",
        "Agencies connect with OAuth 2.0 (client credentials, private_key_jwt) and the "
        "REST API described in OpenAPI 3.1.",
    ),
    "home_api_docs": ("Τεκμηρίωση του API (Swagger UI)", "API documentation (Swagger UI)"),
    "home_openapi": ("Η περιγραφή OpenAPI", "The OpenAPI description"),
    "home_oauth": ("Τα μεταδεδομένα OAuth (RFC 8414)", "The OAuth metadata (RFC 8414)"),
}


def translate(key: str, language: Language) -> str:
    """The text of ``key`` in ``language``; the key itself when the table lacks it."""
    words = _WORDS.get(key)
    if words is None:
        return key
    return words[0] if language == "el" else words[1]


def has_words(key: str) -> bool:
    """Whether the table has ``key``: a code without words falls back to a generic message."""
    return key in _WORDS
