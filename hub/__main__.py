"""``python -m hub`` runs the hub's command line."""

from __future__ import annotations

from hub.cli.main import main

raise SystemExit(main())
