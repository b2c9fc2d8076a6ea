"""Keys, trust and seals: how the hub proves that what it issued is genuine.

The modules, from the bottom up:

- ``pki``      builds the X.509 hierarchy (root CA → sealing CA → seal
  certificate, plus a development TSA) and CRLs;
- ``keystore`` the ``KeyStore`` port every signature goes through, and the
  file-backed store with its ``init`` / ``rotate`` / ``revoke`` operations;
- ``trust``    what a verifier needs (roots, CAs, CRLs, published seals);
- ``jws``      compact JWS seals over canonical (RFC 8785) JSON;
- ``pdf``      the bilingual certificate with its QR code;
- ``pades``    PAdES seals on those PDFs and their verification;
- ``report``   the ETSI EN 319 102-1 vocabulary both verifiers answer in;
- ``_fonts``   the certificate fonts, parsed and cut down once per process;
- ``_speedups`` memoised X.509 name matching (asn1crypto) and a fast hex
  string reader (pyhanko), installed by ``pades``: same answers, less time.

Verification functions never raise on bad input; they return a report.
"""

from __future__ import annotations
