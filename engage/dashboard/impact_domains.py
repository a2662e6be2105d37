""""Your impact" sections from events, feedback, "you said, we did" and payments.

Each is a provider registered with `register_impact_section`. Named feedback is found through
`feedback_givers` only (the member chose to attach their name); anonymous feedback is never
looked up or linked here.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engage.changes.models import ChangeEntry, ChangeLink, Publication
from engage.core.clock import to_london
from engage.dashboard.impact import ImpactItem, ImpactSection, register_impact_section
from engage.events.models import AttendanceRecord, Event, Register
from engage.extensions import db
from engage.feedback import services as feedback
from engage.feedback.models import FeedbackGiver
from engage.payments.models import Claim, ClaimState
from engage.payments.reports import pounds_text

TOOK_PART = ("attended", "attended_part")


@register_impact_section
def events_attended(user) -> ImpactSection:
    rows = db.session.execute(
        select(Event, AttendanceRecord.status)
        .join(AttendanceRecord, AttendanceRecord.event_id == Event.id)
        .join(Register, Register.event_id == Event.id)
        .where(AttendanceRecord.user_id == user.id, AttendanceRecord.status.in_(TOOK_PART),
               Register.finalised_at.is_not(None))
        .order_by(Event.starts_at.desc())).all()
    items = [ImpactItem(
        event.title,
        _("You came on %(day)s", day=to_london(event.starts_at).strftime("%-d %B %Y"))
        if status == "attended" else
        _("You came for part of it on %(day)s",
          day=to_london(event.starts_at).strftime("%-d %B %Y")),
        url_for("events.detail", event_id=event.id)) for event, status in rows]
    return ImpactSection("events", _("Events"),
                         _("You took part in %(n)s events.", n=len(items)), items,
                         _("No events yet. Events appear here once the register has been "
                           "completed."))


@register_impact_section
def feedback_given(user) -> ImpactSection:
    items = []
    for item in feedback.feedback_of_member(user):
        label = feedback.giver_status_label(item, feedback.linked_changes(item))
        title = _("Feedback you gave on %(day)s", day=item.received_on.strftime("%-d %B %Y"))
        if item.topic:
            title += " " + _("about %(topic)s", topic=item.topic)
        items.append(ImpactItem(title, label,
                                url_for("feedback.your_item", feedback_id=item.id)))
    return ImpactSection("feedback", _("Feedback"),
                         _("You gave %(n)s pieces of feedback with your name.", n=len(items)),
                         items, _("You have not given feedback with your name yet. Feedback "
                                  "you gave anonymously is not linked to you, so it is not "
                                  "listed."))


@register_impact_section
def changes_linked(user) -> ImpactSection:
    entries = db.session.scalars(
        select(ChangeEntry).join(ChangeLink, ChangeLink.entry_id == ChangeEntry.id)
        .join(FeedbackGiver, FeedbackGiver.feedback_id == ChangeLink.feedback_id)
        .where(FeedbackGiver.user_id == user.id,
               ChangeEntry.publication == Publication.PUBLISHED)
        .order_by(ChangeEntry.published_at.desc())).unique().all()
    entries = list(dict.fromkeys(entries))  # one feedback item or several: listed once
    items = [ImpactItem(entry.title, entry.status_label,
                        url_for("changes.public_entry", entry_id=entry.id)) for entry in entries]
    return ImpactSection("changes", _("You said, we did"),
                         _("Your voice is part of %(n)s changes.", n=len(items)), items,
                         _("None of your feedback is linked to a published change yet."))


WAITING = (ClaimState.SUBMITTED, ClaimState.LEAD_APPROVED, ClaimState.APPROVED,
           ClaimState.PAYING, ClaimState.EXPORTED, ClaimState.PAYMENT_FAILED)


@register_impact_section
def payments_summary(user) -> ImpactSection | None:
    claims = list(db.session.scalars(select(Claim).where(Claim.user_id == user.id)))
    if not claims:
        return None
    paid = [c for c in claims if c.state == ClaimState.PAID]
    waiting = [c for c in claims if c.state in WAITING]
    not_sent = [c for c in claims if c.state in (ClaimState.DRAFT, ClaimState.RETURNED)]
    total = sum(c.involvement_pence + c.expenses_pence for c in paid)
    items = [
        ImpactItem(_("Paid"), _("%(n)s claims, £%(total)s in all", n=len(paid),
                                total=pounds_text(total))),
        ImpactItem(_("Being checked or paid"), _("%(n)s claims", n=len(waiting))),
        ImpactItem(_("Not sent yet, or returned to you"), _("%(n)s claims", n=len(not_sent)),
                   url_for("payments.index")),
    ]
    return ImpactSection("payments", _("Payments"),
                         _("Involvement payments and expenses for your time."), items)
