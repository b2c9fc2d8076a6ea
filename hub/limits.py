"""Size limits shared by the API and the pages.

Both the verification endpoint and the verification page accept uploads;
they share one bound, kept here so that neither imports the other.
"""

from __future__ import annotations

__all__ = ["MAX_UPLOAD_BYTES"]

#: The largest document accepted for verification; certificates are ~50 kB.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
