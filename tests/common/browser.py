"""A form-filling browser without JavaScript, for the pages' HTTP tests.

It keeps cookies like a browser, reads the CSRF token from the page it
fetched (as a form would send it back) and never follows redirects on its
own, so a test sees every 303 the pages answer.
"""

from __future__ import annotations

import re
from typing import Any

import requests

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


class Browser:
    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.session = requests.Session()

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.base + path, params=params, allow_redirects=False, timeout=30)

    def csrf(self, path: str = "/verify") -> str:
        """The form token of the page at ``path``, as its forms carry it."""
        page = self.get(path)
        found = CSRF.search(page.text)
        assert found is not None, f"no form token on {path}: {page.status_code}"
        return found.group(1)

    def post(
        self,
        path: str,
        data: dict[str, str] | None = None,
        *,
        files: dict[str, Any] | None = None,
        form_page: str | None = "/verify",
        **kwargs: Any,
    ) -> requests.Response:
        """POST a form; the CSRF token comes from ``form_page`` (``None``: send none)."""
        fields = dict(data or {})
        if form_page is not None:
            fields.setdefault("csrf_token", self.csrf(form_page))
        return self.session.post(
            self.base + path,
            data=fields,
            files=files,
            allow_redirects=False,
            timeout=60,
            **kwargs,
        )

    def follow(self, response: requests.Response) -> requests.Response:
        assert response.status_code in (302, 303, 307, 308), (response.status_code, response.text)
        return self.get(response.headers["Location"])

    def sign_in_citizen(self, afm: str) -> requests.Response:
        return self.post(
            "/signin", {"role": "citizen", "citizen": afm, "next": ""}, form_page="/signin"
        )

    def sign_in_auditor(self, name: str) -> requests.Response:
        return self.post(
            "/signin", {"role": "auditor", "auditor": name, "next": ""}, form_page="/signin"
        )
