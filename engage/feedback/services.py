"""Feedback use cases: giving it (anonymously or named), checking it by code, and triage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from engage.accounts.models import User, UserRole
from engage.core import audit, clock
from engage.core.notify import Message, notify
from engage.core.permissions import Permission, Role, can
from engage.core.unit_of_work import atomic
from engage.core.wiring import Hook
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.extensions import db
from engage.feedback import codes
from engage.feedback.models import (
    MAX_FEEDBACK_LENGTH,
    EntryMethod,
    FeedbackGiver,
    FeedbackItem,
    FeedbackItemTheme,
    FeedbackReply,
    FeedbackStatus,
    FeedbackTheme,
    ImpactFeedbackLink,
    random_feedback_id,
)

MAX_REPLY_LENGTH = 5000
MAX_QUOTE_LENGTH = 1000
MAX_REASON_LENGTH = 1000

CODE_ADVICE = (
    "Your feedback seems to include a feedback code (words joined by dashes). Please take the "
    "code out before sending: codes are private, and we never keep them where they can be "
    "read. To see earlier feedback, use its code on the 'Check your feedback' page."
)

WRONG_CODE = (
    "We could not find feedback with that code. Check each word and try again. Codes cannot "
    "be recovered, so if it is lost you are welcome to give your feedback again."
)


def topics() -> list[str]:
    """The services or topics people can choose from (FEEDBACK_TOPICS setting)."""
    return list(current_app.config["FEEDBACK_TOPICS"])


@dataclass(frozen=True)
class GivenFeedback:
    item: FeedbackItem
    code: str
    repeated: bool = False  # the same page was sent again: nothing new was stored


def _clean(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


@atomic
def give_feedback(actor: Any, *, body: str, topic: str | None = None, may_quote: bool = False,
                  attach_name: bool = False, page_nonce: str | None = None,
                  entry_method: EntryMethod | None = None) -> GivenFeedback:
    """Store feedback and return its code, which exists only in this return value.

    Nothing about the giver is stored unless a signed-in member asks to attach their name. No
    audit event is written: its exact time would be a clock finer than the day. With the
    give-feedback page's one-time nonce the code is derived from it, so the same page sent
    again stores nothing new and returns the same code (`repeated`).
    """
    body = _clean(body)
    if not body:
        raise ValidationFailed("Tell us what you want to say before sending.")
    if len(body) > MAX_FEEDBACK_LENGTH:
        raise ValidationFailed(
            f"Please shorten your feedback to {MAX_FEEDBACK_LENGTH} characters or fewer.")
    if codes.contains_code(body):
        raise ValidationFailed(CODE_ADVICE)
    if topic and topic not in topics():
        raise ValidationFailed("Choose a topic from the list, or leave it empty.")
    named = bool(attach_name and getattr(actor, "is_authenticated", False))
    code = codes.code_for_page(page_nonce) if page_nonce else codes.new_code()
    lookup = codes.lookup_key(code)
    already = _item_with_lookup(lookup)
    if already is not None:
        return GivenFeedback(item=already, code=code, repeated=True)
    item = FeedbackItem(
        id=_unused_feedback_id(),
        received_on=clock.today_london(),
        body=body,
        topic=topic or None,
        may_quote=bool(may_quote),
        code_lookup=lookup,
        status=FeedbackStatus.NEW,
        entry_method=entry_method,
    )
    try:
        with db.session.begin_nested():
            db.session.add(item)
    except IntegrityError:
        # The same page sent twice at once: the other request stored it.
        already = _item_with_lookup(lookup)
        if already is None:
            raise
        return GivenFeedback(item=already, code=code, repeated=True)
    if named:
        db.session.add(FeedbackGiver(feedback_id=item.id, user_id=actor.id))
        db.session.flush()
    return GivenFeedback(item=item, code=code)


CONSENT_NEEDED = ("Tick the box to confirm the person agreed to you entering this for them. "
                  "If they have not agreed, please do not enter it.")
METHOD_NEEDED = "Choose how the person gave you their feedback."


def entry_method_from(value: str | None) -> EntryMethod:
    try:
        return EntryMethod(value or "")
    except ValueError:
        raise ValidationFailed(METHOD_NEEDED) from None


@atomic
def give_feedback_on_behalf(actor: Any, *, method: str | None, consented: bool, body: str,
                            topic: str | None = None, may_quote: bool = False,
                            page_nonce: str | None = None) -> GivenFeedback:
    """Staff enter anonymous feedback for someone (by phone, on paper, in an interview), with
    that person's agreement. The item keeps only how it was taken: never who entered it, no
    audit row, no time finer than the day, so it cannot be lined up with the staff member's
    sign-in. The code is returned once, for staff to pass on to the person."""
    _require_triage(actor)
    chosen = entry_method_from(method)
    if not consented:
        raise ValidationFailed(CONSENT_NEEDED)
    return give_feedback(None, body=body, topic=topic, may_quote=may_quote, attach_name=False,
                         page_nonce=page_nonce, entry_method=chosen)


def _item_with_lookup(lookup: str) -> FeedbackItem | None:
    return db.session.scalar(select(FeedbackItem).where(FeedbackItem.code_lookup == lookup))


def _unused_feedback_id() -> int:
    """A random id not yet taken (ids are random so they carry no order; see models.py)."""
    while True:
        candidate = random_feedback_id()
        if db.session.get(FeedbackItem, candidate) is None:
            return candidate


def find_by_code(typed: str) -> FeedbackItem | None:
    """The feedback a code unlocks, or None. Nothing is stored about the attempt."""
    if not codes.looks_like_code(typed):
        return None
    return db.session.scalar(
        select(FeedbackItem).where(FeedbackItem.code_lookup == codes.lookup_key(typed))
    )


def delete_replies_by_giver(item: FeedbackItem) -> int:
    """The person holding the code removes the replies they were sent."""
    count = len(item.replies)
    db.session.execute(delete(FeedbackReply).where(FeedbackReply.feedback_id == item.id))
    db.session.expire(item, ["replies"])
    audit.count_anonymous("feedback.replies_deleted_by_giver", clock.today_london())
    return count


def withdraw_feedback(item: FeedbackItem) -> None:
    """The person holding the code takes their feedback back: it is deleted with its replies,
    themes and links to changes. Only the day's count of withdrawals records it: an audit row
    with its time could be tied to whoever was signed in then."""
    db.session.delete(item)
    db.session.flush()
    audit.count_anonymous("feedback.withdrawn_by_giver", clock.today_london())


# --- hiding the order of arrival ---------------------------------------------------------------


def mix_recent_feedback() -> int:
    """The worker's job: write today's feedback again (and, once, each earlier day's that is not
    settled yet), one row at a time in the order of the random ids, re-encrypting the text.

    Afterwards those rows share one transaction id and PostgreSQL's physical order follows the
    random ids, so neither says in what order they arrived; on SQLite the random id already is
    the rowid. The rows are updated in id order, never in parallel, so this cannot deadlock
    with itself. Returns how many rows were written.
    """
    today = clock.today_london()
    rows = db.session.execute(
        select(FeedbackItem.id, FeedbackItem.body, FeedbackItem.received_on)
        .where((FeedbackItem.received_on >= today) | FeedbackItem.settled.is_(False))
        .order_by(FeedbackItem.id)).all()
    for row in rows:
        db.session.execute(
            update(FeedbackItem).where(FeedbackItem.id == row.id)
            .values(body=row.body, settled=row.received_on < today)
            .execution_options(synchronize_session=False))
    return len(rows)


# --- staff triage -----------------------------------------------------------------------------


def _require_triage(actor: Any) -> None:
    if not can(actor, Permission.TRIAGE_FEEDBACK):
        raise NotAllowed()


def _set_status(item: FeedbackItem, allowed_from: Iterable[FeedbackStatus],
                to: FeedbackStatus, **values: Any) -> None:
    """A conditional UPDATE: two people acting at once cannot both move the same item."""
    result = db.session.execute(
        update(FeedbackItem)
        .where(FeedbackItem.id == item.id,
               FeedbackItem.status.in_([str(s) for s in allowed_from]))
        .values(status=to, status_changed_on=clock.today_london(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(item)
        raise InvalidState(
            f"This feedback is now '{item.status_label}', so that could not be done. The "
            "page has been refreshed.")
    db.session.refresh(item)


def acknowledge_feedback(actor: Any, item: FeedbackItem) -> None:
    _require_triage(actor)
    _set_status(item, [FeedbackStatus.NEW], FeedbackStatus.ACKNOWLEDGED)
    audit.record("feedback.acknowledged", actor_id=actor.id, subject_type="feedback",
                 subject_id=item.id)


def close_feedback(actor: Any, item: FeedbackItem, reason: str) -> None:
    _require_triage(actor)
    reason = _clean(reason)
    if not reason:
        raise ValidationFailed("Say why the feedback is being closed: the person will see it.")
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed(f"Use {MAX_REASON_LENGTH} characters or fewer for the reason.")
    _set_status(item, [FeedbackStatus.NEW, FeedbackStatus.ACKNOWLEDGED], FeedbackStatus.CLOSED,
                closed_reason=reason)
    audit.record("feedback.closed", actor_id=actor.id, subject_type="feedback",
                 subject_id=item.id)
    _tell_named_giver(item, "Your feedback has been closed",
                      "Our team has closed your feedback and said why.", f"closed-{item.id}")


def reopen_feedback(actor: Any, item: FeedbackItem) -> None:
    _require_triage(actor)
    _set_status(item, [FeedbackStatus.CLOSED], FeedbackStatus.ACKNOWLEDGED, closed_reason=None)
    audit.record("feedback.reopened", actor_id=actor.id, subject_type="feedback",
                 subject_id=item.id)


def mark_linked(item: FeedbackItem) -> None:
    """The item is now behind a "you said, we did" entry (called by the changes domain when it
    links it): linked, from any status, and no longer closed."""
    db.session.execute(
        update(FeedbackItem).where(FeedbackItem.id == item.id)
        .values(status=FeedbackStatus.LINKED, status_changed_on=clock.today_london(),
                closed_reason=None)
        .execution_options(synchronize_session=False))
    db.session.refresh(item)


def mark_unlinked(item: FeedbackItem) -> None:
    """The last entry the item was linked to let it go (called by the changes domain): back
    to read by our team, unless staff have moved it on since."""
    db.session.execute(
        update(FeedbackItem)
        .where(FeedbackItem.id == item.id, FeedbackItem.status == FeedbackStatus.LINKED)
        .values(status=FeedbackStatus.ACKNOWLEDGED, status_changed_on=clock.today_london())
        .execution_options(synchronize_session=False))
    db.session.refresh(item)


def reply_to_feedback(actor: Any, item: FeedbackItem, body: str) -> FeedbackReply:
    _require_triage(actor)
    body = _clean(body)
    if not body:
        raise ValidationFailed("Write your reply before sending it.")
    if len(body) > MAX_REPLY_LENGTH:
        raise ValidationFailed(f"Please shorten the reply to {MAX_REPLY_LENGTH} characters.")
    today = clock.today_london()
    reply = FeedbackReply(feedback_id=item.id, body=body, written_on=today)
    db.session.add(reply)
    if item.first_reply_on is None:
        item.first_reply_on = today
    db.session.flush()
    if item.status == FeedbackStatus.NEW:
        _set_status(item, [FeedbackStatus.NEW], FeedbackStatus.ACKNOWLEDGED)
    audit.record("feedback.replied", actor_id=actor.id, subject_type="feedback",
                 subject_id=item.id, reply_id=reply.id)
    _tell_named_giver(item, "A reply to your feedback",
                      "Our team has replied to your feedback.", f"reply-{reply.id}")
    return reply


def set_themes(actor: Any, item: FeedbackItem, names: Iterable[str]) -> None:
    _require_triage(actor)
    wanted = sorted({" ".join(n.split())[:60] for n in names if n and n.strip()},
                    key=str.lower)
    themes = [ensure_theme(name) for name in wanted]
    item.themes = themes
    db.session.flush()
    audit.record("feedback.themes_set", actor_id=actor.id, subject_type="feedback",
                 subject_id=item.id, theme_ids=[t.id for t in themes])


def ensure_theme(name: str) -> FeedbackTheme:
    existing = db.session.scalar(
        select(FeedbackTheme).where(func.lower(FeedbackTheme.name) == name.lower())
    )
    if existing is not None:
        return existing
    theme = FeedbackTheme(name=name)
    db.session.add(theme)
    db.session.flush()
    return theme


@atomic
def set_quote(actor: Any, item: FeedbackItem, quote: str) -> None:
    """Staff write the words that may be quoted, with identifying details taken out. Only the
    redacted quote is ever published, and only when the giver allowed quoting."""
    _require_triage(actor)
    if not item.may_quote:
        raise InvalidState("The person did not agree to be quoted, so no quote can be added.")
    quote = _clean(quote)
    if len(quote) > MAX_QUOTE_LENGTH:
        raise ValidationFailed(f"Keep the quote to {MAX_QUOTE_LENGTH} characters or fewer.")
    if codes.contains_code(quote):
        raise ValidationFailed("Take the feedback code out of the quote.")
    item.quote = quote or None
    db.session.flush()
    audit.record("feedback.quote_set" if quote else "feedback.quote_removed",
                 actor_id=actor.id, subject_type="feedback", subject_id=item.id)


def flag_safeguarding(actor: Any, item: FeedbackItem) -> None:
    """Send the item to the safeguarding lead's queue. Nothing about the giver is added:
    the lead sees exactly what triage staff see."""
    _require_triage(actor)
    result = db.session.execute(
        update(FeedbackItem)
        .where(FeedbackItem.id == item.id, FeedbackItem.safeguarding_flagged.is_(False))
        .values(safeguarding_flagged=True, safeguarding_flagged_on=clock.today_london())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(item)
    if result.rowcount != 1:
        raise InvalidState("This feedback is already with the safeguarding lead.")
    audit.record("feedback.safeguarding_flagged", actor_id=actor.id, subject_type="feedback",
                 subject_id=item.id)

    leads = db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == str(Role.SAFEGUARDING_LEAD), User.is_disabled.is_(False))
    ).all()
    for lead in leads:
        notify(lead, Message("Feedback flagged for safeguarding",
                             "A piece of feedback has been flagged for you to look at.",
                             f"/staff/safeguarding/feedback/{item.id}"),
               dedupe_key=f"feedback-safeguarding-{item.id}-{lead.id}")


def record_safeguarding_view(actor: Any, item: FeedbackItem) -> None:
    if not can(actor, Permission.VIEW_SAFEGUARDING):
        raise NotAllowed()
    if not item.safeguarding_flagged:
        raise NotFound()
    audit.record("feedback.safeguarding_viewed", actor_id=actor.id, subject_type="feedback",
                 subject_id=item.id)


def named_giver(item: FeedbackItem):
    return db.session.scalar(
        select(User).join(FeedbackGiver, FeedbackGiver.user_id == User.id)
        .where(FeedbackGiver.feedback_id == item.id)
    )


def _tell_named_giver(item: FeedbackItem, title: str, body: str, key: str) -> None:
    giver = named_giver(item)
    if giver is not None and giver.receives_notifications:
        notify(giver, Message(title, body, f"/feedback/yours/{item.id}"),
               dedupe_key=f"feedback-{key}-{giver.id}")


def feedback_of_member(user: Any) -> list[FeedbackItem]:
    return list(db.session.scalars(
        select(FeedbackItem).join(FeedbackGiver, FeedbackGiver.feedback_id == FeedbackItem.id)
        .where(FeedbackGiver.user_id == user.id)
        .order_by(FeedbackItem.received_on.desc(), FeedbackItem.id.desc())
    ))


def member_feedback(user: Any, feedback_id: int) -> FeedbackItem:
    """Another person's feedback is 'not found', never 'forbidden'."""
    item = db.session.scalar(
        select(FeedbackItem).join(FeedbackGiver, FeedbackGiver.feedback_id == FeedbackItem.id)
        .where(FeedbackGiver.user_id == user.id, FeedbackItem.id == feedback_id)
    )
    if item is None:
        raise NotFound()
    return item


# --- anonymous feedback a member adds to their "your impact" page -----------------------------
#
# Only the member's own action writes a link, and nothing else reads it but their own impact
# page, their data download and account closure. Adding or removing a code changes nothing on
# the feedback item and writes no audit entry: even an entry with no details would tell staff
# that this person holds a feedback code, and its time could be matched against the day a
# piece of feedback arrived or was answered. Nothing staff are accountable for changes, so
# there is nothing to audit.


@dataclass(frozen=True)
class ImpactAddition:
    item: FeedbackItem
    added: bool  # False: it was already on the page
    named_by_you: bool = False  # you gave it with your name, so it is listed already


@atomic
def add_feedback_to_impact(user: Any, code: str) -> ImpactAddition:
    """Link the feedback a code unlocks to the member's impact page. A wrong code raises
    NotFound (the view counts it against the wrong-code allowance). Adding it twice, even by
    two clicks at once, keeps one link: the unique constraint decides."""
    item = find_by_code(code)
    if item is None:
        raise NotFound(WRONG_CODE)
    if item.giver is not None and item.giver.user_id == user.id:
        return ImpactAddition(item, added=False, named_by_you=True)
    link_id = random_feedback_id()
    while db.session.get(ImpactFeedbackLink, link_id) is not None:
        link_id = random_feedback_id()
    try:
        with db.session.begin_nested():
            db.session.add(ImpactFeedbackLink(id=link_id, user_id=user.id, feedback_id=item.id))
    except IntegrityError:
        return ImpactAddition(item, added=False)
    return ImpactAddition(item, added=True)


def remove_feedback_from_impact(user: Any, link_id: int) -> None:
    """Break the link again. Another person's link, or one already gone, is 'not found'."""
    result = db.session.execute(
        delete(ImpactFeedbackLink)
        .where(ImpactFeedbackLink.id == link_id, ImpactFeedbackLink.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise NotFound("That feedback is not on your impact page.")


def impact_feedback_of(user: Any) -> list[tuple[ImpactFeedbackLink, FeedbackItem]]:
    return [(link, item) for link, item in db.session.execute(
        select(ImpactFeedbackLink, FeedbackItem)
        .join(FeedbackItem, FeedbackItem.id == ImpactFeedbackLink.feedback_id)
        .where(ImpactFeedbackLink.user_id == user.id)
        .order_by(FeedbackItem.received_on.desc(), FeedbackItem.id.desc())
    )]


def feedback_ids_of_member(user: Any):
    """A select of every feedback id on the member's impact page (given with their name, or
    added by its code), for `column.in_(...)`."""
    return union(
        select(FeedbackGiver.feedback_id).where(FeedbackGiver.user_id == user.id),
        select(ImpactFeedbackLink.feedback_id).where(ImpactFeedbackLink.user_id == user.id),
    )


# --- the triage queue -------------------------------------------------------------------------


QUEUE_PAGE_SIZE = 25


@dataclass(frozen=True)
class QueuePage:
    items: list[FeedbackItem]
    next_cursor: str | None


def _cursor(item: FeedbackItem) -> str:
    return f"{item.received_on.isoformat()}_{item.id}"


def _parse_cursor(cursor: str | None) -> tuple[date, int] | None:
    if not cursor:
        return None
    try:
        day, raw_id = cursor.split("_", 1)
        return date.fromisoformat(day), int(raw_id)
    except ValueError:
        return None


def triage_queue(*, status: str | None = None, topic: str | None = None,
                 theme_id: int | None = None, oldest_first: bool = False,
                 safeguarding_only: bool = False, after: str | None = None,
                 page_size: int = QUEUE_PAGE_SIZE) -> QueuePage:
    """Keyset-paged (day, id) so the queue stays quick however long it grows."""
    query = select(FeedbackItem)
    if status in set(FeedbackStatus):
        query = query.where(FeedbackItem.status == status)
    if topic:
        query = query.where(FeedbackItem.topic == topic)
    if theme_id:
        query = query.where(FeedbackItem.id.in_(
            select(FeedbackItemTheme.feedback_id).where(FeedbackItemTheme.theme_id == theme_id)))
    if safeguarding_only:
        query = query.where(FeedbackItem.safeguarding_flagged.is_(True))
    position = _parse_cursor(after)
    key = (FeedbackItem.received_on, FeedbackItem.id)
    if oldest_first:
        if position:
            query = query.where(
                (key[0] > position[0]) | ((key[0] == position[0]) & (key[1] > position[1])))
        query = query.order_by(key[0].asc(), key[1].asc())
    else:
        if position:
            query = query.where(
                (key[0] < position[0]) | ((key[0] == position[0]) & (key[1] < position[1])))
        query = query.order_by(key[0].desc(), key[1].desc())
    rows = list(db.session.scalars(query.limit(page_size + 1)))
    more = len(rows) > page_size
    rows = rows[:page_size]
    return QueuePage(items=rows, next_cursor=_cursor(rows[-1]) if more and rows else None)


SEARCH_SCAN_LIMIT = 1000


def search_feedback(*, words: str | None = None, received_from: date | None = None,
                    received_to: date | None = None, theme_id: int | None = None,
                    exclude_ids: Iterable[int] = (), limit: int = 20) -> list[FeedbackItem]:
    """Find feedback in the triage list by what it says, the day it came and its theme (for
    linking it to a 'you said, we did' entry). Every word typed must appear in the feedback,
    its topic or its themes. What people wrote is encrypted at rest, so the day and theme
    narrow the rows in the database and the words are matched here, over at most the
    SEARCH_SCAN_LIMIT newest of those rows."""
    query = select(FeedbackItem).options(selectinload(FeedbackItem.themes))
    if received_from:
        query = query.where(FeedbackItem.received_on >= received_from)
    if received_to:
        query = query.where(FeedbackItem.received_on <= received_to)
    if theme_id:
        query = query.where(FeedbackItem.id.in_(
            select(FeedbackItemTheme.feedback_id).where(FeedbackItemTheme.theme_id == theme_id)))
    excluded = list(exclude_ids)
    if excluded:
        query = query.where(FeedbackItem.id.not_in(excluded))
    query = query.order_by(FeedbackItem.received_on.desc(), FeedbackItem.id.desc())
    wanted = [word.casefold() for word in (words or "").split()]
    found = []
    for item in db.session.scalars(query.limit(SEARCH_SCAN_LIMIT if wanted else limit)):
        searchable = " ".join([item.body, item.topic or "",
                               *(theme.name for theme in item.themes)]).casefold()
        if all(word in searchable for word in wanted):
            found.append(item)
            if len(found) == limit:
                break
    return found


def all_themes() -> list[FeedbackTheme]:
    return list(db.session.scalars(select(FeedbackTheme).order_by(FeedbackTheme.name)))


# --- what the code page shows about changes (filled in by the changes domain) ------------------

# The changes domain sits above feedback, so it adds how to find the published changes an item
# is linked to: a function (item) -> list of entries. Feedback never imports it.
LINKED_CHANGES = Hook("feedback.linked_changes")


def giver_status_label(item: FeedbackItem, changes: list[Any]) -> str:
    """The status as the giver should read it: 'Linked to a change' only once a change they
    can see is published; until then it is honestly 'Read by our team'."""
    if item.status == FeedbackStatus.LINKED and not changes:
        return FeedbackStatus.ACKNOWLEDGED.label
    return item.status_label


def linked_changes(item: FeedbackItem) -> list[Any]:
    return [change for changes in LINKED_CHANGES.results(item) for change in changes]
