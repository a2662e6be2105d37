"""'You said, we did' use cases: write, link, approve (second person), publish, update, and the
public log's queries (keyset paging, one query per page for the counts)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import and_, delete, func, literal, or_, select, tuple_, update
from sqlalchemy.orm import selectinload

from engage.accounts.models import User, UserRole
from engage.changes.links import LINK_KINDS
from engage.changes.models import (
    PENDING_VERSION_STATES,
    ChangeEntry,
    ChangeEntryEvent,
    ChangeLink,
    ChangeStatus,
    ChangeVersion,
    EntryEventKind,
    LinkKind,
    Publication,
    PublicOrganisation,
    PublicTheme,
    VersionState,
)
from engage.changes.public_cache import public_log_changed
from engage.consultations import services as consultation_services
from engage.consultations.models import (
    AnonymousAnswer,
    Answer,
    Consultation,
    ConsultationState,
    Question,
    QuestionKind,
    QuoteConsent,
    ResponseStatus,
)
from engage.consultations.models import Response as ConsultationResponse
from engage.core import audit, clock
from engage.core.models import Notification
from engage.core.notify import Message, notify
from engage.core.permissions import ROLE_PERMISSIONS, Permission, can
from engage.core.unit_of_work import atomic
from engage.db import UTCDateTime
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.extensions import db
from engage.feedback import services as feedback_services
from engage.feedback.models import FeedbackGiver, FeedbackItem, FeedbackStatus
from engage.panels.services import credit_for

MAX_TEXT = 4000
EDITABLE_FIELDS = ("said", "done", "organisation", "theme_id", "status", "not_possible_reason",
                   "target_on", "completed_on")


def _require(actor: Any, permission: Permission) -> None:
    if not can(actor, permission):
        raise NotAllowed()


def _clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(fields)
    for name in ("said", "done", "organisation", "not_possible_reason"):
        if name in cleaned and cleaned[name] is not None:
            cleaned[name] = cleaned[name].replace("\r\n", "\n").strip() or None
    if not cleaned.get("said"):
        raise ValidationFailed("Summarise what people said.")
    if not cleaned.get("done"):
        raise ValidationFailed("Say what was done, or what will be done.")
    if not cleaned.get("organisation"):
        raise ValidationFailed("Say which organisation or service made the change.")
    for name in ("said", "done", "not_possible_reason"):
        if cleaned.get(name) and len(cleaned[name]) > MAX_TEXT:
            raise ValidationFailed(f"Please keep each answer to {MAX_TEXT} characters or fewer.")
    status = ChangeStatus(cleaned.get("status") or ChangeStatus.CONSIDERING)
    cleaned["status"] = status
    if status == ChangeStatus.NOT_POSSIBLE and not cleaned.get("not_possible_reason"):
        raise ValidationFailed("Explain why the change is not possible: people deserve to know.")
    if status != ChangeStatus.NOT_POSSIBLE:
        cleaned["not_possible_reason"] = None
    if status == ChangeStatus.DONE and not cleaned.get("completed_on"):
        cleaned["completed_on"] = clock.today_london()
    if status != ChangeStatus.DONE:
        cleaned["completed_on"] = None
    return {name: cleaned.get(name) for name in EDITABLE_FIELDS}


@atomic
def create_entry(actor: Any, **fields: Any) -> ChangeEntry:
    _require(actor, Permission.WRITE_CHANGES)
    entry = ChangeEntry(created_by_id=actor.id, publication=Publication.DRAFT,
                        **_clean_fields(fields))
    db.session.add(entry)
    db.session.flush()
    audit.record("change.created", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry.id)
    return entry


@atomic
def update_entry(actor: Any, entry: ChangeEntry, **fields: Any) -> ChangeEntry:
    """A draft changes quietly; one waiting for approval goes back to draft, so the approver
    always approves what they read. A published entry is not changed at all: the edit becomes
    a new version (see save_version) that replaces the public one only once a second person
    approves it. A withdrawn entry stays as it was withdrawn."""
    _require(actor, Permission.WRITE_CHANGES)
    if entry.is_withdrawn:
        raise InvalidState("This entry has been withdrawn from public view, so it cannot be "
                           "changed.")
    values = _clean_fields(fields)
    if entry.is_published:
        save_version(actor, entry, values)
        return entry
    changed = [name for name, value in values.items() if getattr(entry, name) != value]
    if not changed:
        return entry
    for name, value in values.items():
        setattr(entry, name, value)
    if entry.publication == Publication.AWAITING_APPROVAL:
        entry.publication = Publication.DRAFT
        entry.submitted_by_id = None
    db.session.flush()
    audit.record("change.updated", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry.id, fields=changed)
    return entry


# --- versions of a published entry ---------------------------------------------------------


def pending_version(entry: ChangeEntry) -> ChangeVersion | None:
    """The new version being prepared for a published entry, if there is one."""
    return db.session.scalar(select(ChangeVersion).where(
        ChangeVersion.entry_id == entry.id,
        ChangeVersion.publication.in_([str(s) for s in PENDING_VERSION_STATES])))


def earlier_versions(entry: ChangeEntry) -> list[ChangeVersion]:
    """What the entry said before each new version replaced it, oldest first."""
    return list(db.session.scalars(select(ChangeVersion).where(
        ChangeVersion.entry_id == entry.id,
        ChangeVersion.publication == VersionState.SUPERSEDED).order_by(ChangeVersion.number)))


def _current_values(entry: ChangeEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in EDITABLE_FIELDS}


def save_version(actor: Any, entry: ChangeEntry, values: dict[str, Any]) -> ChangeVersion | None:
    """Write the edit of a published entry as its new version (a draft). Saving it again
    changes the same draft; a version waiting for approval goes back to draft. Saving what is
    already public changes nothing."""
    version = pending_version(entry)
    if version is None:
        if values == _current_values(entry):
            return None
        number = (db.session.scalar(select(func.max(ChangeVersion.number)).where(
            ChangeVersion.entry_id == entry.id)) or 0) + 1
        version = ChangeVersion(entry_id=entry.id, number=number, created_by_id=actor.id,
                                publication=VersionState.DRAFT, **values)
        db.session.add(version)
        action = "change.version_started"
    else:
        for name, value in values.items():
            setattr(version, name, value)
        version.publication = VersionState.DRAFT
        version.submitted_by_id = None
        action = "change.version_updated"
    db.session.flush()
    audit.record(action, actor_id=actor.id, subject_type="change_entry", subject_id=entry.id,
                 version=version.number)
    return version


@atomic
def discard_version(actor: Any, entry: ChangeEntry) -> None:
    """Delete the new version being prepared; the public entry stays as it is."""
    _require(actor, Permission.WRITE_CHANGES)
    version = pending_version(entry)
    if version is None:
        raise InvalidState("There is no new version of this entry to delete.")
    db.session.delete(version)
    db.session.flush()
    audit.record("change.version_deleted", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry.id, version=version.number)


def _in_review(entry: ChangeEntry) -> ChangeEntry | ChangeVersion:
    """What is going through approval: the entry itself until it is first published, then
    its new version."""
    if entry.was_published:
        version = pending_version(entry)
        if version is None:
            raise InvalidState("There is no new version of this entry waiting to be approved.")
        return version
    return entry


def _states(subject: ChangeEntry | ChangeVersion) -> type[Publication] | type[VersionState]:
    return VersionState if isinstance(subject, ChangeVersion) else Publication


def _move(subject: ChangeEntry | ChangeVersion, from_: str, to: str, **values: Any) -> None:
    """A conditional UPDATE: two people acting at once cannot both move the same thing."""
    model = type(subject)
    result = db.session.execute(
        update(model).where(model.id == subject.id, model.publication == from_)
        .values(publication=to, **values).execution_options(synchronize_session=False))
    db.session.refresh(subject)
    if result.rowcount != 1:
        raise InvalidState(
            f"This is now '{subject.publication_label}', so that could not be done.")


@atomic
def submit_for_approval(actor: Any, entry: ChangeEntry) -> None:
    """Ask for a second person's approval: of the entry, or of its new version. Everyone who
    may approve it (not the writer) is told it is waiting for them."""
    _require(actor, Permission.WRITE_CHANGES)
    subject = _in_review(entry)
    now = clock.now()
    states = _states(subject)
    _move(subject, states.DRAFT, states.AWAITING_APPROVAL, submitted_by_id=actor.id,
          submitted_at=now, sent_back_note=None, sent_back_by_id=None, sent_back_at=None)
    audit.record("change.submitted", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry.id,
                 version=subject.number if isinstance(subject, ChangeVersion) else None)
    _tell_approvers(entry, subject)


def _approvers() -> list[Any]:
    roles = [str(role) for role, granted in ROLE_PERMISSIONS.items()
             if Permission.APPROVE_CHANGES in granted]
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(roles), User.is_disabled.is_(False))
        .order_by(User.id)).unique())


def _tell_approvers(entry: ChangeEntry, subject: ChangeEntry | ChangeVersion) -> None:
    writers = {subject.created_by_id, subject.submitted_by_id}
    what = ("A new version of a 'you said, we did' entry" if isinstance(subject, ChangeVersion)
            else "A 'you said, we did' entry")
    for person in _approvers():
        if person.id in writers:
            continue
        notify(person, Message("Waiting for your approval",
                               f"{what} is waiting for a second person to approve it.",
                               f"/staff/changes/{entry.id}"),
               dedupe_key=f"change-{entry.id}-awaiting-{subject.submitted_at.isoformat()}"
                          f"-{person.id}")


def can_approve(actor: Any, entry: ChangeEntry) -> bool:
    """A second person: may approve changes, and neither wrote nor submitted what waits."""
    if not can(actor, Permission.APPROVE_CHANGES):
        return False
    subject = pending_version(entry) if entry.was_published else entry
    return (subject is not None and subject.is_awaiting_approval
            and actor.id not in {subject.submitted_by_id, subject.created_by_id})


def _require_second_person(actor: Any, subject: ChangeEntry | ChangeVersion) -> None:
    _require(actor, Permission.APPROVE_CHANGES)
    if actor.id in {subject.submitted_by_id, subject.created_by_id}:
        raise NotAllowed("A second person must approve this: ask another programme lead or an "
                         "admin.")


@atomic
def approve_entry(actor: Any, entry: ChangeEntry) -> None:
    """Publishing needs a second person: another programme lead or an admin, who neither wrote
    nor submitted the entry (the database refuses approver = submitter as well). For a
    published entry this approves its new version, which then replaces the public one."""
    subject = _in_review(entry)
    _require_second_person(actor, subject)
    if isinstance(subject, ChangeVersion):
        _publish_version(actor, entry, subject)
        return
    now = clock.now()
    _move(entry, Publication.AWAITING_APPROVAL, Publication.PUBLISHED, approved_by_id=actor.id,
          published_at=now, public_version=1)
    db.session.add(ChangeVersion(
        entry_id=entry.id, number=1, publication=VersionState.PUBLISHED,
        created_by_id=entry.created_by_id, submitted_by_id=entry.submitted_by_id,
        approved_by_id=actor.id, created_at=entry.created_at, submitted_at=entry.submitted_at,
        published_at=now, **_current_values(entry)))
    event = ChangeEntryEvent(entry_id=entry.id, occurred_at=now, kind=EntryEventKind.PUBLISHED,
                             status=entry.status)
    db.session.add(event)
    db.session.flush()
    public_log_changed()
    audit.record("change.published", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry.id)
    _tell_people(entry, event, "What you told us has led to a change",
                 "We have published what we did about something you told us.")


def _publish_version(actor: Any, entry: ChangeEntry, version: ChangeVersion) -> None:
    """The approved version replaces the public one, which is kept as an earlier version.
    People whose feedback is linked hear about a new status."""
    now = clock.now()
    _move(version, VersionState.AWAITING_APPROVAL, VersionState.PUBLISHED,
          approved_by_id=actor.id, published_at=now)
    db.session.execute(
        update(ChangeVersion)
        .where(ChangeVersion.entry_id == entry.id, ChangeVersion.id != version.id,
               ChangeVersion.publication == VersionState.PUBLISHED)
        .values(publication=VersionState.SUPERSEDED, superseded_at=now)
        .execution_options(synchronize_session=False))
    old_status = entry.status
    for name in EDITABLE_FIELDS:
        setattr(entry, name, getattr(version, name))
    entry.updated_at = now
    entry.public_version = version.number
    status_changed = entry.status != old_status
    event = ChangeEntryEvent(entry_id=entry.id, occurred_at=now,
                             kind=(EntryEventKind.STATUS if status_changed
                                   else EntryEventKind.EDITED),
                             status=entry.status if status_changed else None,
                             note=f"Version {version.number}")
    db.session.add(event)
    db.session.flush()
    public_log_changed()
    audit.record("change.version_published", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry.id, version=version.number)
    if status_changed:
        _tell_people(entry, event, "A change linked to what you told us has moved on",
                     f"It is now '{entry.status_label}'.")


MAX_SEND_BACK_NOTE = 2000


@atomic
def send_back(actor: Any, entry: ChangeEntry, note: str) -> None:
    """The second person does not approve it yet: it goes back to draft with their comment,
    and whoever submitted it is told."""
    subject = _in_review(entry)
    _require_second_person(actor, subject)
    note = (note or "").replace("\r\n", "\n").strip()
    if not note:
        raise ValidationFailed("Say what needs changing, so the writer knows what to do.")
    if len(note) > MAX_SEND_BACK_NOTE:
        raise ValidationFailed(f"Keep the comment to {MAX_SEND_BACK_NOTE} characters or fewer.")
    now = clock.now()
    submitter = subject.submitted_by_id
    states = _states(subject)
    _move(subject, states.AWAITING_APPROVAL, states.DRAFT, sent_back_note=note,
          sent_back_by_id=actor.id, sent_back_at=now, submitted_by_id=None)
    audit.record("change.sent_back", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry.id,
                 version=subject.number if isinstance(subject, ChangeVersion) else None)
    for person_id in dict.fromkeys([submitter, subject.created_by_id]):
        person = db.session.get(User, person_id) if person_id else None
        if person is not None and not person.is_disabled:
            notify(person, Message("Sent back with a comment",
                                   "A 'you said, we did' entry you submitted has been sent back "
                                   "with a comment.", f"/staff/changes/{entry.id}"),
                   dedupe_key=f"change-{entry.id}-sent-back-{now.isoformat()}-{person.id}")


MAX_WITHDRAW_REASON = 300


@atomic
def withdraw_entry(actor: Any, entry: ChangeEntry, reason: str) -> None:
    """Take a published entry out of public view, with a reason the public sees. Nothing is
    deleted: its page says it was withdrawn, when and why, and its history stays. A new
    version in preparation is dropped."""
    if not (can(actor, Permission.WRITE_CHANGES) or can(actor, Permission.APPROVE_CHANGES)):
        raise NotAllowed()
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed("Give the reason people will see for withdrawing it.")
    if len(reason) > MAX_WITHDRAW_REASON:
        raise ValidationFailed(f"Keep the reason to {MAX_WITHDRAW_REASON} characters or fewer.")
    now = clock.now()
    _move(entry, Publication.PUBLISHED, Publication.WITHDRAWN, withdrawn_at=now,
          withdrawn_by_id=actor.id, withdrawn_reason=reason)
    db.session.execute(delete(ChangeVersion).where(
        ChangeVersion.entry_id == entry.id,
        ChangeVersion.publication.in_([str(s) for s in PENDING_VERSION_STATES])))
    db.session.add(ChangeEntryEvent(entry_id=entry.id, occurred_at=now,
                                    kind=EntryEventKind.WITHDRAWN, note=reason))
    db.session.flush()
    db.session.expire(entry, ["versions", "events"])
    public_log_changed()
    audit.record("change.withdrawn", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry.id)


@atomic
def delete_draft(actor: Any, entry: ChangeEntry) -> None:
    """Delete an entry that was never published (a draft, or one waiting for approval). Feedback
    linked only to it goes back to 'read by our team'."""
    _require(actor, Permission.WRITE_CHANGES)
    if entry.was_published:
        raise InvalidState("This entry has been published, so it cannot be deleted. You can "
                           "withdraw it from public view instead.")
    for feedback_id in db.session.scalars(select(ChangeLink.feedback_id).where(
            ChangeLink.entry_id == entry.id, ChangeLink.feedback_id.is_not(None))).all():
        unlink_feedback(actor, entry, feedback_id)
    entry_id = entry.id
    db.session.delete(entry)
    db.session.flush()
    audit.record("change.deleted", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry_id)


def _awaiting_approval_by(actor: Any):
    """The condition on ChangeEntry: it (or its new version) waits for a second person, and
    this person neither wrote nor submitted it."""
    return _awaiting_approval_of(actor.id)


def _awaiting_approval_of(person):
    """The same, for `person`: an id or a bound parameter."""
    waiting_versions = select(ChangeVersion.entry_id).where(
        ChangeVersion.publication == VersionState.AWAITING_APPROVAL,
        ChangeVersion.created_by_id.is_distinct_from(person),
        ChangeVersion.submitted_by_id.is_distinct_from(person))
    return or_(
        and_(ChangeEntry.publication == Publication.AWAITING_APPROVAL,
             ChangeEntry.created_by_id.is_distinct_from(person),
             ChangeEntry.submitted_by_id.is_distinct_from(person)),
        ChangeEntry.id.in_(waiting_versions))


def awaiting_approval_by(actor: Any) -> list[ChangeEntry]:
    """Entries (or their new versions) waiting for a second person, which this person may
    approve: neither written nor submitted by them."""
    if not can(actor, Permission.APPROVE_CHANGES):
        return []
    return list(db.session.scalars(select(ChangeEntry).where(_awaiting_approval_by(actor))
                                   .order_by(ChangeEntry.id)).unique())


@cache
def awaiting_approval_count_query(person):
    """The COUNT of the entries `awaiting_approval_by` would list for `person` (the staff
    navigation's bound parameter; built once, counted with the other queues in one query)."""
    return select(func.count()).select_from(ChangeEntry).where(_awaiting_approval_of(person))


def named_givers_for_entry(entry: ChangeEntry) -> list[Any]:
    """Everyone to tell about this entry, once each: named givers of linked feedback, and
    named respondents of linked consultation answers and of linked consultations (sent
    responses only). Anonymous feedback and anonymous answers lead to no one."""
    feedback_givers = (
        select(FeedbackGiver.user_id)
        .join(ChangeLink, ChangeLink.feedback_id == FeedbackGiver.feedback_id)
        .where(ChangeLink.entry_id == entry.id))
    answer_respondents = (
        select(ConsultationResponse.user_id)
        .join(Answer, Answer.response_id == ConsultationResponse.id)
        .join(ChangeLink, ChangeLink.answer_id == Answer.id)
        .where(ChangeLink.entry_id == entry.id,
               ConsultationResponse.status == ResponseStatus.SUBMITTED))
    consultation_respondents = (
        select(ConsultationResponse.user_id)
        .join(ChangeLink, ChangeLink.consultation_id == ConsultationResponse.consultation_id)
        .where(ChangeLink.entry_id == entry.id,
               ConsultationResponse.status == ResponseStatus.SUBMITTED))
    return list(db.session.scalars(
        select(User).where(
            or_(User.id.in_(feedback_givers), User.id.in_(answer_respondents),
                User.id.in_(consultation_respondents)),
            User.is_disabled.is_(False))
        .order_by(User.id)).unique())


def _tell_people(entry: ChangeEntry, event: ChangeEntryEvent, title: str, body: str) -> None:
    """Named givers and respondents hear by their own preferences (discreet by default), once
    each per event; anonymous givers see the change on their code page."""
    for person in named_givers_for_entry(entry):
        notify(person, Message(title, body, f"/you-said-we-did/{entry.id}"),
               dedupe_key=f"change-{entry.id}-event-{event.id}-{person.id}")


# --- links --------------------------------------------------------------------------------


@atomic
def link_feedback(actor: Any, entry: ChangeEntry, feedback_id: int) -> ChangeLink:
    _require(actor, Permission.WRITE_CHANGES)
    item = db.session.get(FeedbackItem, feedback_id)
    if item is None:
        raise ValidationFailed("That feedback is no longer there: it may have been withdrawn "
                               "by the person who gave it. Find it again in the list.")
    existing = db.session.scalar(select(ChangeLink).where(
        ChangeLink.entry_id == entry.id, ChangeLink.feedback_id == feedback_id))
    if existing is not None:
        return existing
    link = ChangeLink(entry_id=entry.id, kind=LinkKind.FEEDBACK, feedback_id=feedback_id)
    db.session.add(link)
    db.session.flush()
    feedback_services.mark_linked(item)
    audit.record("change.feedback_linked", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry.id, feedback_id=feedback_id)
    if entry.is_published:
        giver = feedback_services.named_giver(item)
        if giver is not None and giver.receives_notifications:
            notify(giver, Message("Your feedback has led to a change",
                                  "We have linked your feedback to a published change.",
                                  f"/you-said-we-did/{entry.id}"),
                   dedupe_key=f"change-{entry.id}-link-{feedback_id}-{giver.id}")
    return link


@atomic
def unlink_feedback(actor: Any, entry: ChangeEntry, feedback_id: int) -> None:
    _require(actor, Permission.WRITE_CHANGES)
    result = db.session.execute(delete(ChangeLink).where(
        ChangeLink.entry_id == entry.id, ChangeLink.feedback_id == feedback_id))
    if result.rowcount != 1:
        raise NotFound()
    still_linked = db.session.scalar(select(func.count()).select_from(ChangeLink).where(
        ChangeLink.feedback_id == feedback_id))
    item = db.session.get(FeedbackItem, feedback_id)
    if not still_linked and item is not None:
        feedback_services.mark_unlinked(item)
    db.session.expire(entry, ["links"])
    audit.record("change.feedback_unlinked", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry.id, feedback_id=feedback_id)


def linkable_consultations() -> list[Consultation]:
    """Consultations whose results are published, newest first: the ones an entry may link."""
    return list(db.session.scalars(
        select(Consultation).where(Consultation.state == ConsultationState.PUBLISHED)
        .order_by(Consultation.published_at.desc(), Consultation.id.desc()).limit(200))
        .unique())


def _published_consultation(consultation_id: int) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise ValidationFailed("Choose a consultation from the list.")
    if consultation.state != ConsultationState.PUBLISHED:
        raise ValidationFailed("Only consultations whose results are published can be linked. "
                               "Publish the results first.")
    return consultation


@atomic
def link_consultation(actor: Any, entry: ChangeEntry, consultation_id: int) -> ChangeLink:
    _require(actor, Permission.WRITE_CHANGES)
    consultation = _published_consultation(consultation_id)
    existing = db.session.scalar(select(ChangeLink).where(
        ChangeLink.entry_id == entry.id, ChangeLink.consultation_id == consultation.id))
    if existing is not None:
        return existing
    link = ChangeLink(entry_id=entry.id, kind=LinkKind.CONSULTATION,
                      consultation_id=consultation.id)
    db.session.add(link)
    db.session.flush()
    db.session.expire(entry, ["links"])
    audit.record("change.consultation_linked", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry.id, consultation_id=consultation.id)
    if entry.is_published:
        for person in _named_respondents(consultation_id=consultation.id):
            _tell_linked(entry, person, f"consultation-{consultation.id}")
    return link


def find_answer(answer_id: str) -> Answer | AnonymousAnswer | None:
    """A sent free-text answer, named or anonymous (drafts cannot be linked)."""
    answer = db.session.get(Answer, answer_id)
    if answer is not None:
        return answer if answer.response.status == ResponseStatus.SUBMITTED else None
    return db.session.get(AnonymousAnswer, answer_id)


@atomic
def link_consultation_answer(actor: Any, entry: ChangeEntry, answer_id: str) -> ChangeLink:
    """Link one free-text answer. Any sent answer may be linked and counted; whether its words
    are ever shown publicly depends only on the respondent's own choice for it."""
    _require(actor, Permission.WRITE_CHANGES)
    answer = find_answer(answer_id)
    question = db.session.get(Question, answer.question_id) if answer is not None else None
    if answer is None or question is None or question.kind != QuestionKind.FREE_TEXT \
            or not answer.text:
        raise ValidationFailed("That answer cannot be linked: choose a written answer from "
                               "the consultation's answers page.")
    _published_consultation(question.consultation_id)
    named = isinstance(answer, Answer)
    column = ChangeLink.answer_id if named else ChangeLink.anonymous_answer_id
    existing = db.session.scalar(select(ChangeLink).where(ChangeLink.entry_id == entry.id,
                                                          column == answer.id))
    if existing is not None:
        return existing
    link = ChangeLink(entry_id=entry.id, kind=LinkKind.CONSULTATION_ANSWER,
                      answer_id=answer.id if named else None,
                      anonymous_answer_id=None if named else answer.id)
    db.session.add(link)
    db.session.flush()
    db.session.expire(entry, ["links"])
    audit.record("change.answer_linked", actor_id=actor.id, subject_type="change_entry",
                 subject_id=entry.id, consultation_id=question.consultation_id)
    if entry.is_published and named:
        for person in _named_respondents(answer_id=answer.id):
            _tell_linked(entry, person, f"answer-{answer.id}")
    return link


def answers_with_text(consultation: Consultation) -> list[Answer | AnonymousAnswer]:
    """Sent written answers of a consultation (for the demo and for staff helpers)."""
    free_text = select(Question.id).where(Question.consultation_id == consultation.id,
                                          Question.kind == QuestionKind.FREE_TEXT)
    named = db.session.scalars(
        select(Answer).join(ConsultationResponse, ConsultationResponse.id == Answer.response_id)
        .where(Answer.question_id.in_(free_text), Answer.text.is_not(None),
               ConsultationResponse.status == ResponseStatus.SUBMITTED).order_by(Answer.id))
    anonymous = db.session.scalars(
        select(AnonymousAnswer).where(AnonymousAnswer.question_id.in_(free_text),
                                      AnonymousAnswer.text.is_not(None))
        .order_by(AnonymousAnswer.id))
    return [*named, *anonymous]


def _named_respondents(*, consultation_id: int | None = None,
                       answer_id: str | None = None) -> list[Any]:
    query = (select(User).join(ConsultationResponse, ConsultationResponse.user_id == User.id)
             .where(ConsultationResponse.status == ResponseStatus.SUBMITTED,
                    User.is_disabled.is_(False)))
    if consultation_id is not None:
        query = query.where(ConsultationResponse.consultation_id == consultation_id)
    if answer_id is not None:
        query = query.join(Answer, Answer.response_id == ConsultationResponse.id).where(
            Answer.id == answer_id)
    return list(db.session.scalars(query).unique())


def _tell_linked(entry: ChangeEntry, person: Any, target: str) -> None:
    """Linking more of someone's answers to a published entry tells them once: not again if
    they have already heard about this entry."""
    link = f"/you-said-we-did/{entry.id}"
    if db.session.scalar(select(Notification.id).where(Notification.user_id == person.id,
                                                       Notification.link == link).limit(1)):
        return
    notify(person, Message("What you told us has led to a change",
                           "We have linked your consultation answers to a published change.",
                           f"/you-said-we-did/{entry.id}"),
           dedupe_key=f"change-{entry.id}-link-{target}-{person.id}")


@atomic
def unlink_consultation(actor: Any, entry: ChangeEntry, consultation_id: int) -> None:
    _unlink(actor, entry, ChangeLink.consultation_id == consultation_id,
            "change.consultation_unlinked")


@atomic
def unlink_consultation_answer(actor: Any, entry: ChangeEntry, answer_id: str) -> None:
    _unlink(actor, entry, or_(ChangeLink.answer_id == answer_id,
                              ChangeLink.anonymous_answer_id == answer_id),
            "change.answer_unlinked")


def _unlink(actor: Any, entry: ChangeEntry, condition: Any, action: str) -> None:
    _require(actor, Permission.WRITE_CHANGES)
    result = db.session.execute(delete(ChangeLink).where(ChangeLink.entry_id == entry.id,
                                                         condition))
    if result.rowcount != 1:
        raise NotFound()
    db.session.expire(entry, ["links"])
    audit.record(action, actor_id=actor.id, subject_type="change_entry", subject_id=entry.id)


# --- public reading -----------------------------------------------------------------------


PAGE_SIZE = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _cursor(entry: ChangeEntry) -> str:
    micros = (entry.published_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{entry.id}"


def parse_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        micros, raw_id = cursor.split("-", 1)
        return _EPOCH + timedelta(microseconds=int(micros)), int(raw_id)
    except (ValueError, OverflowError):
        return None


@dataclass
class LogPage:
    entries: list[ChangeEntry]
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    next_cursor: str | None = None


def public_entry(entry_id: int) -> ChangeEntry:
    """A published entry, or one withdrawn from public view (whose page says only that, when
    and why). Drafts are not found."""
    entry = db.session.get(ChangeEntry, entry_id)
    if entry is None or not entry.was_published:
        raise NotFound()
    return entry


def withdrawn_entries(limit: int = 50) -> list[ChangeEntry]:
    """The most recently withdrawn entries, for the feeds' tombstones."""
    return list(db.session.scalars(
        select(ChangeEntry).where(ChangeEntry.publication == Publication.WITHDRAWN)
        .order_by(ChangeEntry.withdrawn_at.desc(), ChangeEntry.id.desc()).limit(limit)))


def public_log(*, status: str | None = None, theme_id: int | None = None,
               organisation: str | None = None, search: str | None = None,
               after: str | None = None, page_size: int = PAGE_SIZE) -> LogPage:
    """Newest first, keyset paged on (published_at, id): a deep page costs what the first does.
    Three queries whatever the page size: the entries (theme joined), their histories and
    their link counts."""
    query = (select(ChangeEntry).options(selectinload(ChangeEntry.events))
             .where(ChangeEntry.publication == Publication.PUBLISHED))
    if status in set(ChangeStatus):
        query = query.where(ChangeEntry.status == status)
    if theme_id:
        query = query.where(ChangeEntry.theme_id == theme_id)
    if organisation:
        query = query.where(ChangeEntry.organisation == organisation)
    if search and search.strip():
        pattern = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        query = query.where(or_(ChangeEntry.said.ilike(pattern, escape="\\"),
                                ChangeEntry.done.ilike(pattern, escape="\\"),
                                ChangeEntry.organisation.ilike(pattern, escape="\\")))
    position = parse_cursor(after)
    if position:
        # A row-value comparison, so PostgreSQL and SQLite seek in ix_change_entries_public
        # instead of filtering every newer row.
        query = query.where(tuple_(ChangeEntry.published_at, ChangeEntry.id)
                            < tuple_(literal(position[0], UTCDateTime()), position[1]))
    query = query.order_by(ChangeEntry.published_at.desc(), ChangeEntry.id.desc())
    rows = list(db.session.scalars(query.limit(page_size + 1)).unique())
    more = len(rows) > page_size
    rows = rows[:page_size]
    return LogPage(entries=rows, counts=link_counts([e.id for e in rows]),
                   next_cursor=_cursor(rows[-1]) if more and rows else None)


def link_counts(entry_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(LINK_KINDS, 0))
    for entry_id in entry_ids:
        counts[entry_id] = dict.fromkeys(LINK_KINDS, 0)
    if entry_ids:
        rows = db.session.execute(
            select(ChangeLink.entry_id, ChangeLink.kind, func.count())
            .where(ChangeLink.entry_id.in_(entry_ids), _target_exists())
            .group_by(ChangeLink.entry_id, ChangeLink.kind))
        for entry_id, kind, count in rows:
            counts[entry_id][kind] = count
    return dict(counts)


def _target_exists() -> Any:
    """Consultations delete named answers in bulk (erasure), SQLite does not apply ON DELETE
    CASCADE, and anonymous answers have no foreign key pointing at them, so a link to an
    answer counts only while the answer exists."""
    return and_(
        or_(ChangeLink.answer_id.is_(None), ChangeLink.answer_id.in_(select(Answer.id))),
        or_(ChangeLink.anonymous_answer_id.is_(None),
            ChangeLink.anonymous_answer_id.in_(select(AnonymousAnswer.id))))


@dataclass(frozen=True)
class Quote:
    text: str
    credit: str | None = None


def public_quotes(entry: ChangeEntry) -> list[Quote]:
    """Only words people allowed us to quote publicly. Feedback: only as staff redacted it.
    Consultation answers: only answers the respondent marked "may be quoted publicly", from
    consultations whose results are published, credited as the respondent chose (anonymous
    answers never are)."""
    quotes = [Quote(text) for text in db.session.scalars(
        select(FeedbackItem.quote)
        .join(ChangeLink, ChangeLink.feedback_id == FeedbackItem.id)
        .where(ChangeLink.entry_id == entry.id, FeedbackItem.may_quote.is_(True),
               FeedbackItem.quote.is_not(None))
        .order_by(FeedbackItem.received_on, FeedbackItem.id))]
    published = select(Question.id).join(
        Consultation, Consultation.id == Question.consultation_id).where(
        Consultation.state == ConsultationState.PUBLISHED)
    named = db.session.execute(
        select(Answer, ConsultationResponse)
        .join(ConsultationResponse, ConsultationResponse.id == Answer.response_id)
        .join(ChangeLink, ChangeLink.answer_id == Answer.id)
        .where(ChangeLink.entry_id == entry.id, Answer.quote_consent == QuoteConsent.PUBLIC,
               ConsultationResponse.status == ResponseStatus.SUBMITTED,
               Answer.question_id.in_(published))
        .order_by(ChangeLink.id)).all()
    quotes += [Quote(answer.text, credit_for(response.user))
               for answer, response in named if answer.text]
    anonymous = db.session.scalars(
        select(AnonymousAnswer)
        .join(ChangeLink, ChangeLink.anonymous_answer_id == AnonymousAnswer.id)
        .where(ChangeLink.entry_id == entry.id,
               AnonymousAnswer.quote_consent == QuoteConsent.PUBLIC,
               AnonymousAnswer.question_id.in_(published))
        .order_by(AnonymousAnswer.id))
    quotes += [Quote(answer.text) for answer in anonymous if answer.text]
    return quotes


def filter_options() -> dict[str, list[Any]]:
    """The organisations and themes of published entries, from the small tables that
    public_cache.py keeps up to date (never from every entry)."""
    organisations = list(db.session.scalars(
        select(PublicOrganisation.name).order_by(PublicOrganisation.name)))
    themes = list(db.session.execute(
        select(PublicTheme.theme_id, PublicTheme.name).order_by(PublicTheme.name)))
    return {"organisations": organisations, "themes": themes}


def published_changes_for_feedback(item: FeedbackItem) -> list[ChangeEntry]:
    """For the code page and a member's own feedback: published entries only."""
    return list(db.session.scalars(
        select(ChangeEntry).join(ChangeLink, ChangeLink.entry_id == ChangeEntry.id)
        .where(ChangeLink.feedback_id == item.id,
               ChangeEntry.publication == Publication.PUBLISHED)
        .order_by(ChangeEntry.published_at.desc())).unique())


# --- staff --------------------------------------------------------------------------------


def staff_entries() -> list[ChangeEntry]:
    """Drafts and entries waiting for approval first, then published, then withdrawn."""
    return list(db.session.scalars(
        select(ChangeEntry).order_by(
            ChangeEntry.publication.in_([Publication.PUBLISHED, Publication.WITHDRAWN]).asc(),
            (ChangeEntry.publication == Publication.WITHDRAWN).asc(),
            ChangeEntry.created_at.desc()).limit(200)).unique())


def linked_feedback(entry: ChangeEntry) -> list[FeedbackItem]:
    return list(db.session.scalars(
        select(FeedbackItem).join(ChangeLink, ChangeLink.feedback_id == FeedbackItem.id)
        .where(ChangeLink.entry_id == entry.id)
        .order_by(FeedbackItem.received_on.desc())))


def linked_consultations(entry: ChangeEntry) -> list[Consultation]:
    return list(db.session.scalars(
        select(Consultation).join(ChangeLink, ChangeLink.consultation_id == Consultation.id)
        .where(ChangeLink.entry_id == entry.id).order_by(Consultation.title)).unique())


@dataclass(frozen=True)
class LinkedAnswer:
    id: str
    consultation: Consultation
    question: Question
    text: str
    quote_consent: str | None
    anonymous: bool

    @property
    def quotable(self) -> bool:
        return self.quote_consent == QuoteConsent.PUBLIC


def linked_answers(entry: ChangeEntry) -> list[LinkedAnswer]:
    """For staff: the linked answers, named and anonymous, without who gave them."""
    out: list[LinkedAnswer] = []
    for model, column in ((Answer, ChangeLink.answer_id),
                          (AnonymousAnswer, ChangeLink.anonymous_answer_id)):
        rows = db.session.execute(
            select(model, Question, Consultation)
            .join(ChangeLink, column == model.id)
            .join(Question, Question.id == model.question_id)
            .join(Consultation, Consultation.id == Question.consultation_id)
            .where(ChangeLink.entry_id == entry.id).order_by(ChangeLink.id)).unique().all()
        out += [LinkedAnswer(answer.id, consultation, question, answer.text or "",
                             answer.quote_consent, model is AnonymousAnswer)
                for answer, question, consultation in rows]
    return out


def entries_linked_to_answers(answer_ids: list[str]) -> dict[str, list[ChangeEntry]]:
    """For the consultation's answers page: which entries each answer is linked to."""
    out: dict[str, list[ChangeEntry]] = defaultdict(list)
    if answer_ids:
        rows = db.session.execute(
            select(func.coalesce(ChangeLink.answer_id, ChangeLink.anonymous_answer_id),
                   ChangeEntry)
            .join(ChangeEntry, ChangeEntry.id == ChangeLink.entry_id)
            .where(or_(ChangeLink.answer_id.in_(answer_ids),
                       ChangeLink.anonymous_answer_id.in_(answer_ids)))
            .order_by(ChangeEntry.id)).unique().all()
        for answer_id, entry in rows:
            out[answer_id].append(entry)
    return dict(out)


def consultation_answer_links(consultation: Consultation, user) -> dict | None:
    """Added to a consultation's answers page (consultations.RESPONSES_PAGE): under each
    written answer, the entries it is linked to and, once the results are published, a way
    for programme leads to link it to an entry."""
    if not can(user, Permission.WRITE_CHANGES):
        return None
    ids = [row.id for row in consultation_services.answer_rows(consultation) if row.values.text]
    return {"answer_templates": ["changes/_answer_links.html"],
            "change_entries": staff_entries()
            if consultation.state == ConsultationState.PUBLISHED else [],
            "answer_changes": entries_linked_to_answers(ids)}


@dataclass(frozen=True)
class Measures:
    total_feedback: int
    linked_feedback: int
    median_days_to_done: float | None
    done_pairs: int
    waiting_over_30_days: int

    @property
    def linked_share(self) -> float | None:
        if not self.total_feedback:
            return None
        return self.linked_feedback / self.total_feedback


def measures(today: date | None = None, *,
             received_between: tuple[date, date] | None = None) -> Measures:
    """The three measures staff watch. Days are whole days (feedback keeps only its day).
    With `received_between` (first and last day, inclusive), only feedback received on those
    days counts, in every measure."""
    today = today or clock.today_london()
    received = ([FeedbackItem.received_on >= received_between[0],
                 FeedbackItem.received_on <= received_between[1]]
                if received_between is not None else [])
    total = db.session.scalar(select(func.count()).select_from(FeedbackItem)
                              .where(*received)) or 0
    linked = db.session.scalar(
        select(func.count(func.distinct(ChangeLink.feedback_id)))
        .join(FeedbackItem, FeedbackItem.id == ChangeLink.feedback_id)
        .where(ChangeLink.kind == LinkKind.FEEDBACK, *received)) or 0
    done_rows = db.session.execute(
        select(FeedbackItem.received_on, func.min(ChangeEntry.completed_on))
        .join(ChangeLink, ChangeLink.feedback_id == FeedbackItem.id)
        .join(ChangeEntry, ChangeEntry.id == ChangeLink.entry_id)
        .where(ChangeEntry.status == ChangeStatus.DONE,
               ChangeEntry.publication == Publication.PUBLISHED,
               ChangeEntry.completed_on.is_not(None), *received)
        .group_by(FeedbackItem.id, FeedbackItem.received_on)).all()
    days = [max((done - received_on).days, 0) for received_on, done in done_rows]
    waiting = db.session.scalar(
        select(func.count()).select_from(FeedbackItem).where(
            FeedbackItem.first_reply_on.is_(None),
            FeedbackItem.status.in_([FeedbackStatus.NEW, FeedbackStatus.ACKNOWLEDGED]),
            FeedbackItem.received_on < today - timedelta(days=30), *received)) or 0
    return Measures(total_feedback=total, linked_feedback=linked,
                    median_days_to_done=statistics.median(days) if days else None,
                    done_pairs=len(days), waiting_over_30_days=waiting)
