"""The benefits and tax notice (PPV-POLICY section 4), shown before someone accepts a paid
role: on the panel application page and the event booking page, through the role-notice hook
the panels domain defines (added in the payments domain's init_app), so neither panels nor
events import payments. Each showing is recorded (who, which version, where, when). The notice
never blocks accepting the role.
"""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from engage.core import clock
from engage.payments import services
from engage.payments.policy import version_in_force


def is_paid_level(involvement_level: int) -> bool:
    """Whether an activity at this level earns an involvement payment under the default
    scheme's version in force today."""
    version = version_in_force(clock.today_london())
    return involvement_level in (version.paid_levels or [])


def benefits_notice(user, involvement_level: int, where: str) -> Markup | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not is_paid_level(involvement_level):
        return None
    services.record_notice_seen(user, where)
    return Markup(render_template("payments/_notice.html",  # noqa: S704  # nosec B704 - our own template
                                  preferences_url=True))

