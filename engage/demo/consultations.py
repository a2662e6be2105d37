"""Demo consultations for `make run`: one open now with answers, one closed with published
results. Safe to run twice."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from engage.consultations.models import (
    AnonymousAnswer,
    AnonymousResponse,
    Consultation,
    ConsultationPart,
    ConsultationState,
    ParticipationReceipt,
    Question,
    QuestionKind,
)
from engage.core import clock
from engage.demo.panels import SURVIVOR_PANEL
from engage.extensions import db
from engage.panels.models import Panel
from engage.panels.richtext import sanitise

OPEN_TITLE = "Support after reporting: what helped, and what did not"
PUBLISHED_TITLE = "Helpline opening hours"


def _options(*labels: str) -> list[dict[str, str]]:
    return [{"key": str(i + 1), "label": label} for i, label in enumerate(labels)]


def _open_consultation(panel: Panel, facilitator) -> Consultation:
    now = clock.now()
    consultation = Consultation(
        panel_id=panel.id, title=OPEN_TITLE, created_by_id=facilitator.id,
        summary="The partnership is redesigning support for people who report to the police. "
                "Tell us what would make a difference.",
        background="Your answers will shape the new support pathway, due next spring.\n\n"
                   "We will publish what we heard and what we changed.",
        content_note="Some questions mention reporting to the police. They are in their own "
                     "part, which you can skip.",
        opens_at=now - timedelta(days=3), closes_at=now + timedelta(days=21),
        is_anonymous=True, state=ConsultationState.OPEN, opened_at=now - timedelta(days=3))
    consultation.background_html = sanitise(consultation.background)
    about = ConsultationPart(position=1, title="About support",
                             intro="These questions are about support in general.")
    reporting = ConsultationPart(
        position=2, title="Reporting",
        content_note="This part asks about experiences of reporting to the police. Skip it if "
                     "you would rather not think about that today.")
    anything = ConsultationPart(position=3, title="Anything else")
    consultation.parts.extend([about, reporting, anything])
    db.session.add(consultation)
    db.session.flush()
    about.questions.extend([
        Question(consultation_id=consultation.id, position=1, kind=QuestionKind.SINGLE_CHOICE,
                 text="Have you used specialist support services in the last two years?",
                 options=_options("Yes", "No", "Not sure")),
        Question(consultation_id=consultation.id, position=2,
                 kind=QuestionKind.MULTIPLE_CHOICE, text="What matters most in support?",
                 options=_options("Being believed", "Choice about what happens next",
                                  "Not having to repeat my story", "Flexible times",
                                  "Support for people close to me")),
        Question(consultation_id=consultation.id, position=3, kind=QuestionKind.SCALE,
                 text="How easy was it to find support?", scale_low_label="Very hard",
                 scale_high_label="Very easy"),
    ])
    reporting.questions.append(Question(
        consultation_id=consultation.id, position=1, kind=QuestionKind.FREE_TEXT,
        text="If you reported, what would have made it easier?", max_length=1500))
    anything.questions.append(Question(
        consultation_id=consultation.id, position=1, kind=QuestionKind.FREE_TEXT,
        text="Is there anything else you would like us to know?", max_length=1000))
    db.session.flush()
    return consultation


def _published_consultation(facilitator) -> Consultation:
    now = clock.now()
    consultation = Consultation(
        panel_id=None, title=PUBLISHED_TITLE, created_by_id=facilitator.id,
        summary="We asked when the helpline should be open.",
        background="The helpline is changing its hours. We asked people who use it first.",
        opens_at=now - timedelta(days=45), closes_at=now - timedelta(days=15),
        is_anonymous=True, state=ConsultationState.PUBLISHED,
        opened_at=now - timedelta(days=45), closed_at=now - timedelta(days=15),
        published_at=now - timedelta(days=5), open_notice_sent_at=now - timedelta(days=45),
        week_reminder_sent_at=now - timedelta(days=22),
        day_reminder_sent_at=now - timedelta(days=16))
    consultation.background_html = sanitise(consultation.background)
    part = ConsultationPart(position=1, title="Opening hours")
    consultation.parts.append(part)
    db.session.add(consultation)
    db.session.flush()
    part.questions.extend([
        Question(consultation_id=consultation.id, position=1, kind=QuestionKind.SINGLE_CHOICE,
                 text="When would you most want to call?",
                 options=_options("Daytime", "Evenings", "Overnight", "Weekends")),
        Question(consultation_id=consultation.id, position=2, kind=QuestionKind.SCALE,
                 text="How well do the current hours suit you?",
                 scale_low_label="Not at all", scale_high_label="Very well"),
        Question(consultation_id=consultation.id, position=3, kind=QuestionKind.FREE_TEXT,
                 text="What else should we know about the hours?", max_length=1000),
    ])
    db.session.flush()
    return consultation


PUBLISHED_ANSWERS = [
    # (when, scale, text, consent)
    ("2", "2", "Evenings are when I finally have the house to myself.", "public"),
    ("2", "1", "Most of my worst nights are after 10pm.", "public"),
    ("3", "2", "Overnight, please. That is when it is hardest.", "public"),
    ("2", "3", None, None),
    ("2", "2", "Please keep a text option.", "commissioner"),
    ("1", "4", None, None),
    ("2", "2", "I could only call when the children were asleep.", "public"),
    ("4", "3", None, None),
    ("2", "1", "A call-back service would help.", "internal"),
    ("3", "2", None, None),
    ("2", "prefer_not_to_say", None, None),
    ("1", "3", "Daytime works for me, but I know I am lucky.", "public"),
    ("2", "2", None, None),
    ("prefer_not_to_say", "2", None, None),
]


def _anonymous(consultation: Consultation, answers: dict[int, tuple], on) -> None:
    response = AnonymousResponse(consultation_id=consultation.id, submitted_on=on)
    for question_id, (choices, text, consent) in answers.items():
        pnts = choices == ["prefer_not_to_say"]
        response.answers.append(AnonymousAnswer(
            question_id=question_id, choices=[] if pnts else choices, prefer_not_to_say=pnts,
            text=text, quote_consent=consent, tags=[]))
    db.session.add(response)


def seed(people: dict) -> list[str]:
    facilitator = people["demo-facilitator"]
    lines = []
    panel = db.session.scalar(select(Panel).where(Panel.name == SURVIVOR_PANEL))
    if panel is not None and db.session.scalar(
            select(Consultation).where(Consultation.title == OPEN_TITLE)) is None:
        consultation = _open_consultation(panel, facilitator)
        single, multiple, scale, _reporting, anything = consultation.ordered_questions()
        rng = random.Random(7)  # noqa: S311 - demo data, not security
        notes = {0: ("Thank you for asking us.", "public"),
                 2: ("More support in the evenings, please.", "internal")}
        for n in range(4):
            _anonymous(consultation, {
                single.id: ([rng.choice(["1", "1", "2", "3"])], None, None),
                multiple.id: (rng.sample(["1", "2", "3", "4", "5"], 2), None, None),
                scale.id: ([str(rng.randint(1, 3))], None, None),
                **({anything.id: ([], *notes[n])} if n in notes else {}),
            }, clock.today_london())
        db.session.add(ParticipationReceipt(consultation_id=consultation.id,
                                            user_id=people["demo-member2"].id,
                                            took_part_on=clock.today_london()))
        lines.append(f"  Consultation (open, anonymous, content note): {OPEN_TITLE}")
    if db.session.scalar(
            select(Consultation).where(Consultation.title == PUBLISHED_TITLE)) is None:
        consultation = _published_consultation(facilitator)
        when, scale, free = consultation.ordered_questions()
        for choice, rating, text, consent in PUBLISHED_ANSWERS:
            _anonymous(consultation, {
                when.id: ([choice], None, None),
                scale.id: ([rating], None, None),
                **({free.id: ([], text, consent)} if text else {}),
            }, clock.to_london(consultation.closes_at).date() - timedelta(days=3))
        lines.append(f"  Consultation (public, results published): {PUBLISHED_TITLE}")
    db.session.flush()
    return lines
