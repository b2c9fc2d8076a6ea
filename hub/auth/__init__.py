"""Authentication: agencies' client assertions, the hub's tokens, citizens' ID tokens.

``models`` holds the principals a verified token names, ``ports`` what the
feature needs from outside (a replay cache, the hub's signing keys, the
citizens' identity issuer), ``service`` the rules
(:class:`~hub.auth.service.TokenService`). ``agency_keys`` finds agencies'
public keys, ``token_keys`` signs with the key store's TOKEN key, and
``factory`` builds the service and the citizens' sign-in from settings.
The API is in ``hub/api/auth.py``.
"""
