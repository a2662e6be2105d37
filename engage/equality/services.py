"""Equality monitoring use cases. Answers are never shown or exported per person, except to
the person themselves (their own answers, and their own-data download)."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from engage.core import audit, clock
from engage.core.unit_of_work import atomic
from engage.equality.models import (
    EqualityAnswers,
    EqualitySnapshot,
    EqualityTally,
    PopulationFigure,
)
from engage.equality.questions import BY_KEY, NOT_ANSWERED, QUESTIONS
from engage.errors import ValidationFailed
from engage.extensions import db

# Where a snapshot can come from. Events add "event" when attendance is recorded.
CONTEXT_KINDS = ("panel", "consultation", "event")


def _clean(answers: dict[str, str | None]) -> dict[str, str]:
    clean: dict[str, str] = {}
    for key, value in answers.items():
        if not value:
            continue
        question = BY_KEY.get(key)
        if question is None or value not in dict(question.choices()):
            raise ValidationFailed(_("One of the answers was not one of the choices. Please "
                                     "choose again."))
        clean[key] = value
    return clean


def answers_of(user) -> dict[str, str]:
    row = db.session.get(EqualityAnswers, user.id)
    return json.loads(row.answers) if row else {}


@atomic
def save_answers(user, answers: dict[str, str | None]) -> None:
    clean = _clean(answers)
    row = db.session.get(EqualityAnswers, user.id)
    if row is None:
        row = EqualityAnswers(user_id=user.id, answers="{}")
        db.session.add(row)
    row.answers = json.dumps(clean, sort_keys=True)
    row.updated_at = clock.now()
    db.session.flush()
    # Never the answers themselves.
    audit.record("equality.answers_saved", actor_id=user.id, subject_type="user",
                 subject_id=user.id)


def delete_answers(user) -> None:
    db.session.execute(delete(EqualityAnswers).where(EqualityAnswers.user_id == user.id))
    audit.record("equality.answers_deleted", actor_id=user.id, subject_type="user",
                 subject_id=user.id)


def take_equality_snapshot(user, context_kind: str, context_id: int) -> EqualitySnapshot:
    """Copy the person's answers as they are now, with no link back to them.

    Call it once each time someone takes part: panels call it when a membership becomes
    active, consultations when someone first sends named answers, and events when attendance
    is recorded (`take_equality_snapshot(user, "event", event.id)`). People who have not
    answered are still counted, as "not answered". For an anonymous answer, the consultation
    carries `snapshot_answers(user)` in its sealed envelope instead and calls
    `record_snapshot` when the worker writes the answers, so the snapshot is not written in
    step with the person's participation receipt.
    """
    return record_snapshot(context_kind, context_id, snapshot_answers(user))


def snapshot_answers(user) -> str:
    """The person's answers as a snapshot holds them (JSON)."""
    return json.dumps(answers_of(user), sort_keys=True)


def record_snapshot(context_kind: str, context_id: int, answers: str,
                    month: str | None = None) -> EqualitySnapshot:
    if context_kind not in CONTEXT_KINDS:
        raise ValueError(f"unknown equality context {context_kind!r}")
    snapshot = EqualitySnapshot(
        context_kind=context_kind, context_id=context_id,
        month=month or clock.today_london().strftime("%Y-%m"), answers=answers,
    )
    db.session.add(snapshot)
    return snapshot


def reshuffle_snapshots(context_kind: str, context_id: int) -> None:
    """Write a context's snapshots again in a new random order, in one transaction, so their
    order of arrival (the batches an anonymous consultation's answers came in) is gone."""
    rows = list(db.session.scalars(select(EqualitySnapshot).where(
        EqualitySnapshot.context_kind == context_kind,
        EqualitySnapshot.context_id == context_id)))
    if not rows:
        return
    copies = [dict(id=r.id, context_kind=r.context_kind, context_id=r.context_id,
                   month=r.month, answers=r.answers, tallied=r.tallied) for r in rows]
    for row in rows:
        db.session.expunge(row)
    db.session.execute(delete(EqualitySnapshot).where(
        EqualitySnapshot.id.in_([c["id"] for c in copies]))
        .execution_options(synchronize_session=False))
    secrets.SystemRandom().shuffle(copies)
    db.session.add_all(EqualitySnapshot(**values) for values in copies)
    db.session.flush()


def _month_filter(query, months: tuple[str, str] | None):
    if months is None:
        return query
    return query.where(EqualitySnapshot.month >= months[0], EqualitySnapshot.month <= months[1])


def snapshot_counts(context_kind: str, context_ids: Iterable[int] | None = None, *,
                    months: tuple[str, str] | None = None,
                    questions: Iterable[str] | None = None) -> dict[str, Counter[str]]:
    """Counts per question and answer over snapshots: the only way snapshots are read.

    Tallied snapshots are counted from their month's tally; the few not tallied yet (since the
    worker's last run) are decrypted and counted one by one. `questions` limits the counting
    to those question keys (the others come back empty), which the dashboard uses to stay
    fast.
    """
    wanted = [q.key for q in QUESTIONS] if questions is None else list(questions)
    totals: dict[str, dict[str, int]] = {key: {} for key in wanted}
    ids = None if context_ids is None else {str(int(i)) for i in context_ids}
    if ids is not None and not ids:
        return {q.key: Counter() for q in QUESTIONS}
    tallies = select(EqualityTally.counts).where(EqualityTally.context_kind == context_kind)
    if months is not None:
        tallies = tallies.where(EqualityTally.month >= months[0],
                                EqualityTally.month <= months[1])
    for raw in db.session.scalars(tallies):
        for context_id, by_question in json.loads(raw).items():
            if ids is not None and context_id not in ids:
                continue
            for key in wanted:
                into = totals[key]
                for answer, number in by_question.get(key, {}).items():
                    into[answer] = into.get(answer, 0) + number
    query = _month_filter(select(EqualitySnapshot.answers).where(
        EqualitySnapshot.context_kind == context_kind,
        EqualitySnapshot.tallied.is_(False)), months)
    if ids is not None:
        query = query.where(EqualitySnapshot.context_id.in_([int(i) for i in ids]))
    for raw in db.session.scalars(query):
        answers = json.loads(raw)
        for key in wanted:
            answer = answers.get(key, NOT_ANSWERED)
            totals[key][answer] = totals[key].get(answer, 0) + 1
    counts = {q.key: Counter() for q in QUESTIONS}
    for key, by_answer in totals.items():
        counts[key].update(by_answer)
    return counts


def build_tallies(batch: int = 5000) -> int:
    """Add snapshots not yet tallied to their month's tally and mark them. Returns how many."""
    rows = db.session.execute(
        select(EqualitySnapshot.id, EqualitySnapshot.context_kind, EqualitySnapshot.month,
               EqualitySnapshot.context_id, EqualitySnapshot.answers)
        .where(EqualitySnapshot.tallied.is_(False)).limit(batch)).all()
    grouped: dict[tuple[str, str], list] = {}
    for row in rows:
        grouped.setdefault((row.context_kind, row.month), []).append(row)
    for (kind, month), members in grouped.items():
        tally = db.session.get(EqualityTally, (kind, month))
        if tally is None:
            tally = EqualityTally(context_kind=kind, month=month, snapshot_count=0, counts="{}")
            db.session.add(tally)
        stored = json.loads(tally.counts)
        for row in members:
            by_question = stored.setdefault(str(row.context_id), {})
            answers = json.loads(row.answers)
            for question in QUESTIONS:
                answer = answers.get(question.key, NOT_ANSWERED)
                by_answer = by_question.setdefault(question.key, {})
                by_answer[answer] = by_answer.get(answer, 0) + 1
        tally.counts = json.dumps(stored, sort_keys=True)
        tally.snapshot_count += len(members)
    if rows:
        db.session.execute(update(EqualitySnapshot)
                           .where(EqualitySnapshot.id.in_([r.id for r in rows]))
                           .values(tallied=True).execution_options(synchronize_session=False))
    db.session.flush()
    return len(rows)


def population_figures() -> dict[tuple[str, str], int]:
    return {(f.question_key, f.option_key): f.per_mille
            for f in db.session.scalars(select(PopulationFigure))}


@atomic
def set_population_figures(actor, figures: dict[tuple[str, str], int | None]) -> None:
    for (question_key, option_key), per_mille in figures.items():
        if question_key not in BY_KEY or option_key not in dict(BY_KEY[question_key].options):
            raise ValidationFailed(_("That answer is not one of the questions' choices."))
        if per_mille is not None and not 0 <= per_mille <= 1000:
            raise ValidationFailed(_("Enter a percentage between 0 and 100."))
        row = db.session.get(PopulationFigure, (question_key, option_key))
        if per_mille is None:
            if row is not None:
                db.session.delete(row)
            continue
        if row is None:
            db.session.add(PopulationFigure(question_key=question_key, option_key=option_key,
                                            per_mille=per_mille))
        else:
            row.per_mille = per_mille
    db.session.flush()
    audit.record("equality.population_figures_changed", actor_id=actor.id)
