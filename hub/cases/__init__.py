"""Case status: agencies keep a citizen informed about an application.

An agency that used the hub's evidence for someone's application tells them
where it stands (received, in review, a missing document by a deadline,
decided, closed) with ``PUT /v1/cases/{case_reference}``; the citizen reads
the timeline of each case at ``GET /v1/me/cases`` and on ``/me/cases``, next
to the evidence requests the agency made under the same reference.

``models`` holds the values, ``ports`` what the feature needs from storage
and from the citizen notifications, ``service`` the rules. Persistence lives
in ``hub/persistence/cases.py``; the API in ``hub/api/cases.py``.
"""
