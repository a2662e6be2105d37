"""Demo feedback and a published 'you said, we did' entry for `make run`. Safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engage.changes import services
from engage.changes.models import ChangeEntry, ChangeStatus
from engage.consultations.models import Consultation, ConsultationState
from engage.core import clock
from engage.extensions import db
from engage.feedback import services as feedback_services

DEMO_SAID = ("The evening drop-in closes at 6pm, too early for anyone who works or collects "
             "children.")


HELPLINE_SAID = ("People who answered the helpline consultation said evenings and nights are "
                 "when they most need to talk.")


def _helpline_entry(lead, second_lead) -> list[str]:
    """An entry linked to the demo consultation with published results, and to its written
    answers: only those marked "may be quoted publicly" appear on the public page."""
    consultation = db.session.scalar(select(Consultation).where(
        Consultation.state == ConsultationState.PUBLISHED).order_by(Consultation.id).limit(1))
    if consultation is None:
        return []
    entry = services.create_entry(
        lead, said=HELPLINE_SAID,
        done="The helpline now stays open until midnight, seven days a week.",
        organisation="Regional Rape Crisis Helpline", status=ChangeStatus.DONE)
    services.link_consultation(lead, entry, consultation.id)
    for answer in services.answers_with_text(consultation):
        services.link_consultation_answer(lead, entry, answer.id)
    services.submit_for_approval(lead, entry)
    services.approve_entry(second_lead, entry)
    return [f"  A second entry is linked to the consultation '{consultation.title}' and its "
            "written answers; only answers people allowed to be quoted publicly are shown."]


class _Visitor:
    is_authenticated = False


def seed(people: dict) -> list[str]:
    if db.session.scalar(select(ChangeEntry.id).where(ChangeEntry.said == DEMO_SAID)):
        return ["Demo feedback and 'you said, we did' entry already exist (the demo feedback "
                "code was printed the first time)."]
    facilitator = people["demo-facilitator"]
    lead, second_lead = people["demo-lead"], people["demo-lead2"]
    today = clock.today_london()

    given = feedback_services.give_feedback(
        _Visitor(), topic="Sexual assault referral centre", may_quote=True,
        body="The evening drop-in shuts at 6pm. I work until 5.30 and can never get there in "
             "time, so I stopped going.")
    given.item.received_on = today - timedelta(days=21)
    feedback_services.set_themes(facilitator, given.item, ["Opening hours"])
    feedback_services.reply_to_feedback(
        facilitator, given.item,
        "Thank you for telling us. We are talking to the centre about later opening and will "
        "let you know what happens.")
    feedback_services.set_quote(facilitator, given.item,
                                "I work until 5.30 and can never get there in time.")

    waiting = feedback_services.give_feedback(
        _Visitor(), topic="This website",
        body="It would help to have the support numbers at the top of every page.")
    waiting.item.received_on = today - timedelta(days=35)

    entry = services.create_entry(
        lead, said=DEMO_SAID,
        done="The drop-in now stays open until 8pm on Tuesdays and Thursdays, with a "
             "trained worker on duty.",
        organisation="City Sexual Assault Referral Centre", status=ChangeStatus.IN_PROGRESS,
        theme_id=given.item.themes[0].id, target_on=today + timedelta(days=30))
    services.link_feedback(lead, entry, given.item.id)
    services.submit_for_approval(lead, entry)
    services.approve_entry(second_lead, entry)
    lines = _helpline_entry(lead, second_lead)
    db.session.commit()
    return [
        "Demo feedback: an anonymous piece of feedback, acknowledged, replied to and linked to "
        "a published 'you said, we did' entry (written by demo-lead, approved by demo-lead2).",
        f"  Its feedback code (try it at /feedback/check): {given.code}",
        "  Another anonymous piece of feedback has waited 35 days without a reply (see "
        "/staff/changes/measures).",
        *lines,
    ]
