""""Your impact" sections from events, feedback, "you said, we did" and payments.

Each is a provider added to `IMPACT_SECTIONS` by the dashboard's init_app. Named feedback is
found through `feedback_givers` (the member chose to attach their name); anonymous feedback
appears only through `impact_feedback_links`, which only the member writes, by typing its code.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from engage.changes.models import ChangeEntry, ChangeLink, Publication
from engage.core.clock import to_london
from engage.dashboard.impact import ImpactItem, ImpactSection
from engage.events.models import TOOK_PART, AttendanceRecord, AttendanceStatus, Event, Register
from engage.extensions import db
from engage.feedback import services as feedback
from engage.payments.models import Claim, ClaimState
from engage.payments.reports import pounds_text


def _sent_on(item) -> str:
    return item.received_on.strftime("%-d %B %Y")


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
        if status == AttendanceStatus.ATTENDED else
        _("You came for part of it on %(day)s",
          day=to_london(event.starts_at).strftime("%-d %B %Y")),
        url_for("events.detail", event_id=event.id)) for event, status in rows]
    return ImpactSection("events", _("Events"),
                         ngettext("You took part in %(num)s event.",
                                  "You took part in %(num)s events.", len(items)), items,
                         _("No events yet. Events appear here once the register has been "
                           "completed."))


def feedback_given(user) -> ImpactSection:
    items = []
    for item in feedback.feedback_of_member(user):
        label = feedback.giver_status_label(item, feedback.linked_changes(item))
        title = _("Feedback you gave on %(day)s", day=_sent_on(item))
        if item.topic:
            title += " " + _("about %(topic)s", topic=item.topic)
        items.append(ImpactItem(title, label,
                                url_for("feedback.your_item", feedback_id=item.id)))
    return ImpactSection("feedback", _("Feedback"),
                         ngettext("You gave %(num)s piece of feedback with your name.",
                                  "You gave %(num)s pieces of feedback with your name.",
                                  len(items)),
                         items, _("You have not given feedback with your name yet. Feedback "
                                  "you gave anonymously is not linked to you, so it is not "
                                  "listed."))


def feedback_added_by_code(user) -> ImpactSection:
    """Anonymous feedback the member added with its code. There is no link to the check page
    (it needs the code, which we never keep), so the status and replies are shown here."""
    items = []
    for link, item in feedback.impact_feedback_of(user):
        label = feedback.giver_status_label(item, feedback.linked_changes(item))
        replies = len(item.replies)
        title = _("Anonymous feedback sent on %(day)s", day=_sent_on(item))
        if item.topic:
            title += " " + _("about %(topic)s", topic=item.topic)
        status = label + ". " + (ngettext("%(num)s reply from our team.",
                                          "%(num)s replies from our team.", replies)
                                 if replies else _("No replies yet."))
        items.append(ImpactItem(title, status, remove_url=url_for(
            "dashboard.remove_feedback_code", link_id=link.id)))
    summary = (ngettext("You added %(num)s piece of anonymous feedback with its code.",
                        "You added %(num)s pieces of anonymous feedback with their codes.",
                        len(items)) if items else
               _("Anonymous feedback is not linked to you, so it is not listed unless you "
                 "add it here yourself with its code."))
    return ImpactSection("feedback-codes", _("Anonymous feedback you added"), summary, items,
                         extra_template="dashboard/_feedback_codes.html")


def changes_linked(user) -> ImpactSection:
    entries = db.session.scalars(
        select(ChangeEntry).join(ChangeLink, ChangeLink.entry_id == ChangeEntry.id)
        .where(ChangeLink.feedback_id.in_(feedback.feedback_ids_of_member(user)),
               ChangeEntry.publication == Publication.PUBLISHED)
        .order_by(ChangeEntry.published_at.desc())).unique().all()
    entries = list(dict.fromkeys(entries))  # one feedback item or several: listed once
    items = [ImpactItem(entry.title, entry.status_label,
                        url_for("changes.public_entry", entry_id=entry.id)) for entry in entries]
    return ImpactSection("changes", _("You said, we did"),
                         ngettext("Your voice is part of %(num)s change.",
                                  "Your voice is part of %(num)s changes.", len(items)), items,
                         _("None of your feedback is linked to a published change yet."))


def _claims(count: int) -> str:
    return ngettext("%(num)s claim", "%(num)s claims", count)


WAITING = (ClaimState.SUBMITTED, ClaimState.LEAD_APPROVED, ClaimState.APPROVED,
           ClaimState.PAYING, ClaimState.TRANSFERRED, ClaimState.EXPORTED,
           ClaimState.PAYMENT_FAILED)


def payments_summary(user) -> ImpactSection | None:
    claims = list(db.session.scalars(select(Claim).where(Claim.user_id == user.id)))
    if not claims:
        return None
    paid = [c for c in claims if c.state == ClaimState.PAID]
    waiting = [c for c in claims if c.state in WAITING]
    not_sent = [c for c in claims if c.state in (ClaimState.DRAFT, ClaimState.RETURNED)]
    total = sum(c.involvement_pence + c.expenses_pence for c in paid)
    items = [
        ImpactItem(_("Paid"), ngettext("%(num)s claim, £%(total)s in all",
                                       "%(num)s claims, £%(total)s in all", len(paid),
                                total=pounds_text(total))),
        ImpactItem(_("Being checked or paid"), _claims(len(waiting))),
        ImpactItem(_("Not sent yet, or returned to you"), _claims(len(not_sent)),
                   url_for("payments.index")),
    ]
    return ImpactSection("payments", _("Payments"),
                         _("Involvement payments and expenses for your time."), items)
