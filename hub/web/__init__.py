"""Server-rendered pages for the people who use the hub.

Most citizens and verifiers never call an API. These pages give them the
hub's services in a browser, in Greek first, with every core action
working without JavaScript:

* ``/``: the front door, leading to the pages below, the service catalogue
  and the API documentation;
* ``/verify``: anyone checks a certificate by uploading it or typing its code;
* ``/me``: the signed-in citizen's certificates, consents, consent requests,
  access history and the checks of their certificates;
* ``/audit``: the auditor's search of the access log, an entry's inclusion
  proof checked against the latest checkpoint, and the checkpoint history;
* ``/signin``, ``/signout``: sessions (a development sign-in outside production).

:func:`create_pages` builds the Starlette application; :class:`PageRouter`
and :class:`PageErrors` let ``hub/app.py`` place it beside the API.
"""

from __future__ import annotations

from hub.web.app import PAGE_PREFIXES, PageErrors, PageRouter, create_pages, is_page_path

__all__ = ["PAGE_PREFIXES", "PageErrors", "PageRouter", "create_pages", "is_page_path"]
