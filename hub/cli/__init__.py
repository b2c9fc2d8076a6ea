"""The ``hub`` command: serve, demo, db, sandbox, keys, token, audit."""

from __future__ import annotations

import warnings

# Connexion 3 imports Starlette's test client at import time, which Starlette
# 1.x deprecates (as a UserWarning); the warning concerns connexion's internals, not the hub,
# and would otherwise print on every start.
warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient`")
