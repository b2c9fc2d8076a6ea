"""Certificates: sealed bilingual PDFs of a citizen's evidence, and their verification.

``models`` holds the values (the stored record, an issued certificate, a
verification report), ``ports`` what the feature needs from storage and from
the evidence exchange, ``service`` the rules (issue, list, revoke, verify).
``issuance`` is the gate both front ends issue through (a per-citizen limit,
a bounded pool of workers). ``factory`` builds them from settings, the keys
and the hub's database. Persistence lives in ``hub/persistence/certificates.py``;
the API in ``hub/api/certificates.py``.
"""
