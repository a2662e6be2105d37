"""Factories for consultations: each returns a flushed object; tests commit if needed."""

from __future__ import annotations

from datetime import timedelta

from engage.consultations.models import (
    Consultation,
    ConsultationPart,
    ConsultationState,
    Question,
    QuestionKind,
)
from engage.core import clock
from engage.extensions import db


def make_consultation(*, panel=None, state: str = ConsultationState.OPEN,
                      anonymous: bool = False, created_by=None, title: str = "Your views",
                      opens_at=None, closes_at=None, content_note_part: bool = False,
                      required_text: bool = False) -> Consultation:
    """A consultation with one question of every kind (and optionally a content-noted part)."""
    now = clock.now()
    consultation = Consultation(
        panel_id=panel.id if panel else None, title=title, summary="What do you think?",
        opens_at=opens_at or now - timedelta(days=1),
        closes_at=closes_at or now + timedelta(days=14),
        is_anonymous=anonymous, state=state,
        created_by_id=created_by.id if created_by else None,
    )
    first = ConsultationPart(position=1, title="About the service")
    consultation.parts.append(first)
    db.session.add(consultation)
    db.session.flush()
    first.questions.extend([
        Question(consultation_id=consultation.id, position=1, kind=QuestionKind.SINGLE_CHOICE,
                 text="Have you used the service?",
                 options=[{"key": "1", "label": "Yes"}, {"key": "2", "label": "No"}]),
        Question(consultation_id=consultation.id, position=2,
                 kind=QuestionKind.MULTIPLE_CHOICE, text="What helped?",
                 options=[{"key": "1", "label": "Being believed"},
                          {"key": "2", "label": "Time"},
                          {"key": "3", "label": "Choice"}]),
        Question(consultation_id=consultation.id, position=3, kind=QuestionKind.SCALE,
                 text="How safe did you feel?", scale_low_label="Not at all",
                 scale_high_label="Completely"),
        Question(consultation_id=consultation.id, position=4, kind=QuestionKind.FREE_TEXT,
                 text="What should change?", max_length=200, required=required_text),
    ])
    if content_note_part:
        second = ConsultationPart(position=2, title="Reporting",
                                  content_note="This part asks about reporting to the police.")
        consultation.parts.append(second)
        db.session.flush()
        second.questions.append(
            Question(consultation_id=consultation.id, position=1, kind=QuestionKind.FREE_TEXT,
                     text="Tell us about reporting.", max_length=500))
    db.session.flush()
    return consultation


def question(consultation: Consultation, kind: str) -> Question:
    return next(q for q in consultation.ordered_questions() if q.kind == kind)


def add_question_types(consultation: Consultation) -> dict[str, Question]:
    """A part with one question of each of the other kinds: dropdown, date, ranking, matrix."""
    part = ConsultationPart(position=len(consultation.parts) + 1, title="More about you")
    consultation.parts.append(part)
    db.session.flush()
    made = {
        "dropdown": Question(consultation_id=consultation.id, position=1,
                             kind=QuestionKind.DROPDOWN, text="Which area do you live in?",
                             options=[{"key": "1", "label": "North"},
                                      {"key": "2", "label": "South"},
                                      {"key": "3", "label": "East"}]),
        "date": Question(consultation_id=consultation.id, position=2, kind=QuestionKind.DATE,
                         text="When did you first contact the service?"),
        "ranking": Question(consultation_id=consultation.id, position=3,
                            kind=QuestionKind.RANKING, text="What matters most?",
                            options=[{"key": "1", "label": "Speed"},
                                     {"key": "2", "label": "Kindness"},
                                     {"key": "3", "label": "Privacy"}]),
        "matrix": Question(consultation_id=consultation.id, position=4,
                           kind=QuestionKind.MATRIX, text="How much do you agree?",
                           options=[{"key": "1", "label": "Staff listened"},
                                    {"key": "2", "label": "I felt safe"}],
                           columns=[{"key": "1", "label": "Disagree"},
                                    {"key": "2", "label": "Not sure"},
                                    {"key": "3", "label": "Agree"}]),
    }
    part.questions.extend(made.values())
    db.session.flush()
    return made


def make_routed(panel=None, *, state=ConsultationState.OPEN, anonymous=False) -> Consultation:
    """Four sections: "No" in section 1 skips section 2 (whose question is required);
    "Nowhere" in section 3 ends the consultation, skipping section 4."""
    now = clock.now()
    consultation = Consultation(
        panel_id=panel.id if panel else None, title="Reporting and support",
        summary="What happened next?", opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=14), is_anonymous=anonymous, state=state)
    titles = ("About you", "Reporting", "Support", "Support in detail")
    for position, title in enumerate(titles, 1):
        consultation.parts.append(ConsultationPart(position=position, title=title))
    db.session.add(consultation)
    db.session.flush()
    one, two, three, four = consultation.parts
    one.questions.append(Question(
        consultation_id=consultation.id, kind=QuestionKind.SINGLE_CHOICE,
        text="Did you report to the police?",
        options=[{"key": "1", "label": "Yes"}, {"key": "2", "label": "No"}],
        routes={"2": str(three.id)}))
    two.questions.append(Question(
        consultation_id=consultation.id, kind=QuestionKind.FREE_TEXT,
        text="How did reporting go?", required=True))
    three.questions.append(Question(
        consultation_id=consultation.id, kind=QuestionKind.DROPDOWN,
        text="Where did you find support?",
        options=[{"key": "1", "label": "A helpline"}, {"key": "2", "label": "Nowhere"}],
        routes={"2": "end"}))
    four.questions.append(Question(
        consultation_id=consultation.id, kind=QuestionKind.FREE_TEXT,
        text="What did the support do for you?"))
    db.session.flush()
    return consultation
