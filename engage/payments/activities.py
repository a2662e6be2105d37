"""What a claim is for: a generic activity, so payments do not depend on any one domain.

Events (and later other domains) describe a finished activity with `Activity` and call
`engage.payments.services.create_draft_involvement_claims(activity, attendees)`. An
expense-only claim for anything else is described by the member (what, when, which lead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Activity:
    kind: str  # "event", "consultation", "panel_role", "other"
    ref_id: int | None  # the id in its own domain (None for "other")
    title: str
    activity_date: date  # the London date it took place
    involvement_level: int  # 1-4, set when it was advertised
    kind_label: str = "activity"  # shown in explanations: "meeting", "workshop", ...
    prep_minutes: int = 0
    prep_paid: bool = False
    lead_ids: tuple[int, ...] = field(default_factory=tuple)  # who approves as lead
    panel_id: int | None = None
    cancelled: bool = False
    cancellation_payable: bool = False  # the lead marked the cancellation as payable
    planned_minutes: int = 0  # how long it was planned to last (a payable cancellation)


@dataclass(frozen=True)
class Attendee:
    user_id: int
    minutes_taken_part: int
    # They said beforehand (when booking) that they do not want to be paid for this activity:
    # the draft claim starts declined, and they can still change it before sending.
    declined: bool = False
    # For an activity over several days: the minutes taken part on each day, in date order
    # (their sum is minutes_taken_part). Each day is paid as a day of its own.
    day_minutes: tuple[int, ...] = ()
