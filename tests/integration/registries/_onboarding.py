"""What an operator sets to onboard the two sandbox registries, as test settings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from adapters.sandbox.onboarding import OnboardingSandbox
from hub.config import Settings

ROOT = Path(__file__).resolve().parents[3]
#: The catalogue extension that onboards both registries: files only.
EXTENSION = ROOT / "tests" / "fixtures" / "catalog_onboarding"


def onboarded_settings(settings: Settings, onboarding: OnboardingSandbox, **env: str) -> Settings:
    """The test settings plus what an operator sets: HUB_CATALOG_DIRS and the secrets."""
    read = Settings.from_env({**onboarding.settings(), "HUB_CATALOG_DIRS": str(EXTENSION), **env})
    return replace(
        settings,
        catalog_dirs=read.catalog_dirs,
        registry_urls={**settings.registry_urls, **read.registry_urls},
        registry_credentials=read.registry_credentials,
        registry_files=read.registry_files,
        registry_secrets=read.registry_secrets,
    )
