"""Every table the hub keeps, gathered: the metadata Alembic migrates to.

Each feature's models module registers its tables on ``Base`` when imported;
importing them all here (instead of ``models`` importing the others at its
bottom) keeps the dependencies one way: features -> base, schema -> features.
Whatever needs the complete schema (migrations, the models/migrations check,
tests that empty every table) reads :data:`metadata` from this module.
"""

from __future__ import annotations

from hub.persistence import (
    case_models,
    certificate_models,
    consent_models,
    models,
    notification_models,
    ratelimit_models,
    webhook_models,
    witness_models,
)
from hub.persistence.base import Base

__all__ = ["FEATURE_MODELS", "metadata"]

#: The modules whose tables make up the schema.
FEATURE_MODELS = (
    models,
    certificate_models,
    consent_models,
    notification_models,
    ratelimit_models,
    case_models,
    webhook_models,
    witness_models,
)

metadata = Base.metadata
