"""The consultations domain's personal data.

Anonymous answers are not here on purpose: nothing links them to anyone, so they cannot be
exported or erased per person. Receipts (only that someone took part) are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from engage.consultations.models import (
    Consultation,
    ParticipationReceipt,
    Question,
    Response,
    ResponseStatus,
)
from engage.consultations.retention import UNSENT_DRAFTS_RULE
from engage.consultations.services import delete_responses, keep_without_name
from engage.core.clock import iso
from engage.core.personal_data import PersonalDataKind
from engage.extensions import db


def _responses(user) -> list[dict[str, Any]]:
    out = []
    for response in db.session.scalars(select(Response).where(Response.user_id == user.id)):
        consultation = db.session.get(Consultation, response.consultation_id)
        answers = []
        for answer in response.answers:
            question = db.session.get(Question, answer.question_id)
            answers.append({
                "question": question.text if question else None,
                "choices": [question.option_label(k) for k in answer.choices or []]
                if question else answer.choices,
                "answer": question.answer_text(list(answer.choices or []), answer.text)
                if question else None,
                "text": answer.text,
                "prefer_not_to_say": answer.prefer_not_to_say,
                "quote_consent": answer.quote_consent,
            })
        out.append({"consultation": consultation.title if consultation else None,
                    "status": response.status, "submitted_at": iso(response.submitted_at),
                    "updated_at": iso(response.updated_at),
                    "entered_by_staff": response.entered_by_staff_label, "answers": answers})
    return out


def _erase_responses(user) -> None:
    delete_responses(Response.user_id == user.id)


def _anonymise_responses(user) -> None:
    """Keep sent answers in the results with no link to the person: each is sealed to become
    an anonymous response (the day it was sent, a random id) when the worker next adds
    anonymous answers, not written beside the closure. No answer can be quoted any more,
    because the person can no longer be asked or credited. Unsent drafts are deleted."""
    for response in db.session.scalars(select(Response).where(
            Response.user_id == user.id, Response.status == ResponseStatus.SUBMITTED)):
        keep_without_name(response)
    db.session.flush()
    _erase_responses(user)


def _receipts(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(ParticipationReceipt).where(ParticipationReceipt.user_id == user.id))
    return [{"consultation": db.session.get(Consultation, r.consultation_id).title,
             "took_part_on": r.took_part_on.isoformat()} for r in rows]


def _erase_receipts(user) -> None:
    db.session.execute(delete(ParticipationReceipt).where(ParticipationReceipt.user_id == user.id))


def _created(user) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Consultation).where(Consultation.created_by_id == user.id))
    return [{"consultation": c.title, "created_at": iso(c.created_at)} for c in rows]


def _erase_created(user) -> None:
    db.session.execute(update(Consultation).where(Consultation.created_by_id == user.id)
                       .values(created_by_id=None))


KINDS = [
    PersonalDataKind("consultation_responses", "Your named answers and saved drafts",
                     "So you can come back to your answers and change them until the "
                     "consultation closes.",
                     "You, and the staff running that consultation.",
                     "Until you close your account. Drafts you never sent are deleted "
                     "sooner.", _responses, _erase_responses,
                     anonymise=_anonymise_responses,
                     anonymise_note="Answers you sent stay in the results without your name "
                     "and can no longer be quoted. Drafts you never sent are deleted.",
                     retention=UNSENT_DRAFTS_RULE),
    PersonalDataKind("participation_receipts", "Anonymous consultations you took part in",
                     "Only so we can tell you that you have already answered. It does not say "
                     "which answers were yours: nobody can find that out.",
                     "You.", "Until you close your account.", _receipts, _erase_receipts),
    PersonalDataKind("consultations", "Consultations you set up",
                     "To keep a record of who set up a consultation.", "Staff.",
                     "Until you close your account.", _created, _erase_created,
                     on_close="The consultation stays, without your name."),
]
