"""Equality answers are personal data (the person's own). Snapshots are not: nothing links
them to anyone, so they cannot be exported or erased per person."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from engage.core.personal_data import PersonalDataKind
from engage.equality.models import EqualityAnswers
from engage.equality.questions import QUESTIONS
from engage.equality.services import answers_of
from engage.extensions import db


def _export(user) -> list[dict[str, Any]]:
    answers = answers_of(user)
    if not answers:
        return []
    return [{str(q.text): q.label_for(answers[q.key]) for q in QUESTIONS if q.key in answers}]


def _erase(user) -> None:
    db.session.execute(delete(EqualityAnswers).where(EqualityAnswers.user_id == user.id))


KINDS = [PersonalDataKind(
    "equality_answers", "Your equality monitoring answers",
    "Optional. To check that panels and consultations reach everyone, and to find groups we "
    "are missing.",
    "You. No one else ever sees your answers: reports only show totals, and any number under "
    "5 is hidden.",
    "Until you delete them or close your account. When you take part, an unnamed copy is "
    "kept for reports; it cannot be linked back to you.",
    _export, _erase)]
