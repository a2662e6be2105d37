"""Imports every domain's models so Alembic and create_all see them. Defines nothing.

One line per domain: import the module, not its names, so adding a domain touches one line.
"""

from engage.accounts import models as accounts_models
from engage.changes import models as changes_models
from engage.consultations import models as consultations_models
from engage.core import models as core_models
from engage.dashboard import models as dashboard_models
from engage.equality import models as equality_models
from engage.events import models as events_models
from engage.feedback import models as feedback_models
from engage.lifecycle import models as lifecycle_models
from engage.panels import models as panels_models
from engage.payments import models as payments_models

DOMAIN_MODELS = [
    core_models,
    accounts_models,
    panels_models,
    consultations_models,
    feedback_models,
    events_models,
    changes_models,
    payments_models,
    equality_models,
    lifecycle_models,
    dashboard_models,
]
