"""HTTP handlers: one module per tag of ``specs/hub.yaml``; each is thin.

Handlers parse the request, call one domain service and shape the response.
They find the wired services through :func:`hub.api._context.services`.
"""
