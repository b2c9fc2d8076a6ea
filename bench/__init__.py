"""The hub's benchmark: every figure a ratio against a floor measured in the same run.

``python -m bench`` measures, on 127.0.0.1 only and bounded in time:

* evidence requests through the hub against the same registry operation
  called directly and against a bare endpoint of the same hub
  (:mod:`bench.evidence`);
* durable access-log appends against raw inserts of the same rows
  (:mod:`bench.accesslog`);
* inclusion proofs at 10^4, 10^6 and 10^7 entries against the hashes they
  are made of (:mod:`bench.proofs`);
* PDF certificates and JWS seals against raw P-256 signatures
  (:mod:`bench.sealing`).

Each figure is printed next to its floor and their ratio, and next to its
target from issue 7 where there is one; a missed target is reported, never
a failure. ``python -m bench.profile`` profiles the hub under the evidence
load. The statistics live in :mod:`bench.stats`, the table in
:mod:`bench.report`.
"""
