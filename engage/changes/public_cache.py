"""Keeping the public log's cached pages and filter lists true.

The log's HTML, JSON and Atom pages are cached for signed-out visitors (engage/core/page_cache.py)
under the version PUBLIC_LOG. Whatever changes what they show bumps that version in the same
transaction, and the organisation and theme filter lists are rebuilt before it commits:

- the changes services call public_log_changed() when they publish, withdraw or change a
  published entry (and any new service that changes public state must too);
- as a safety net, any ORM write to entries, their history, links or themes, and any deletion
  of feedback or consultation answers (which can take links with it), does the same, whether it
  goes through a flush or a bulk UPDATE/DELETE statement.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.orm import Session

from engage.changes.models import (
    ChangeEntry,
    ChangeEntryEvent,
    ChangeLink,
    Publication,
    PublicOrganisation,
    PublicTheme,
)
from engage.consultations.models import AnonymousAnswer, Answer
from engage.core import page_cache
from engage.extensions import db
from engage.feedback.models import FeedbackItem, FeedbackTheme

PUBLIC_LOG = "public-log"
PUBLIC_ENDPOINTS = ("changes.public_log", "changes.json_feed", "changes.atom")
# Any write to these may change the log.
WATCHED = (ChangeEntry, ChangeEntryEvent, ChangeLink, FeedbackTheme)
# Deleting these may take links (and so counts) with them.
WATCHED_DELETIONS = (FeedbackItem, Answer, AnonymousAnswer)
_STALE = "engage_public_log_stale"


def register(app: Flask) -> None:
    for endpoint in PUBLIC_ENDPOINTS:
        page_cache.cache_public_page(app, endpoint, version=PUBLIC_LOG)


def public_log_changed(session: Session | None = None) -> None:
    """The public log shows something new: bump its version now (in this transaction) and
    rebuild the filter lists before the transaction commits."""
    session = session or db.session()
    if session.info.get(_STALE):
        return
    session.info[_STALE] = True
    page_cache.bump(PUBLIC_LOG, connection=session.connection())


def rebuild_public_filters(session: Session | None = None) -> None:
    """The organisations and themes that published entries have, with how many each."""
    connection = (session or db.session()).connection()
    published = ChangeEntry.publication == Publication.PUBLISHED
    connection.execute(delete(PublicOrganisation))
    connection.execute(insert(PublicOrganisation).from_select(
        ["name", "entries"],
        select(ChangeEntry.organisation, func.count()).where(published)
        .group_by(ChangeEntry.organisation)))
    connection.execute(delete(PublicTheme))
    connection.execute(insert(PublicTheme).from_select(
        ["theme_id", "name", "entries"],
        select(FeedbackTheme.id, FeedbackTheme.name, func.count())
        .join(ChangeEntry, ChangeEntry.theme_id == FeedbackTheme.id).where(published)
        .group_by(FeedbackTheme.id, FeedbackTheme.name)))


def _touches_log(instances) -> bool:
    return any(isinstance(obj, WATCHED) for obj in instances)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    if _touches_log(session.new) or _touches_log(session.dirty) or any(
            isinstance(obj, WATCHED + WATCHED_DELETIONS) for obj in session.deleted):
        public_log_changed(session)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    if not (state.is_update or state.is_delete):
        return
    watched = WATCHED + WATCHED_DELETIONS if state.is_delete else WATCHED
    if any(mapper.class_ in watched for mapper in state.all_mappers):
        public_log_changed(state.session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    session.flush()  # what is still pending may touch the log too
    if session.info.pop(_STALE, False):
        rebuild_public_filters(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_STALE, None)
