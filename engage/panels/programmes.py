"""Programmes: groups of panels (for example one funder's programme of work).

Finance filters claims and reports spend by programme (a claim belongs to a programme through
its panel). Admins and programme leads manage programmes (Permission.MANAGE_PROGRAMMES):
programme leads are the people who run programmes, admins set up the organisation. A
programme is never deleted: one that is no longer used is deactivated, so past spend keeps its
programme. Services add and flush; the view commits.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engage.core import audit
from engage.core.permissions import Permission, can
from engage.core.unit_of_work import atomic
from engage.errors import NotAllowed, NotFound, ValidationFailed
from engage.extensions import db
from engage.panels.models import Panel, Programme


def can_manage_programmes(user) -> bool:
    return can(user, Permission.MANAGE_PROGRAMMES)


def _check(actor) -> None:
    if not can_manage_programmes(actor):
        raise NotAllowed("Only admins and programme leads can change programmes.")


def all_programmes() -> list[Programme]:
    return list(db.session.scalars(select(Programme).order_by(Programme.is_active.desc(),
                                                              Programme.name)))


def active_programmes() -> list[Programme]:
    return list(db.session.scalars(select(Programme).where(Programme.is_active.is_(True))
                                   .order_by(Programme.name)))


def panel_counts() -> dict[int, int]:
    """How many panels each programme has."""
    return dict(db.session.execute(
        select(Panel.programme_id, func.count(Panel.id)).where(Panel.programme_id.is_not(None))
        .group_by(Panel.programme_id)).all())


def get_programme(programme_id: int) -> Programme:
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        raise NotFound("That programme does not exist.")
    return programme


def _clean(name: str, description: str) -> tuple[str, str]:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed("Enter a name for the programme.")
    if len(name) > 120:
        raise ValidationFailed("Use 120 characters or fewer for the name.")
    description = (description or "").strip()
    if len(description) > 500:
        raise ValidationFailed("Use 500 characters or fewer for the description.")
    return name, description


def _name_taken(name: str, except_id: int | None = None) -> bool:
    query = select(Programme.id).where(func.lower(Programme.name) == name.lower())
    if except_id is not None:
        query = query.where(Programme.id != except_id)
    return db.session.scalar(query) is not None


TAKEN = "There is already a programme with that name: choose another name."


def _save(programme: Programme) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(programme)
            db.session.flush()
    except IntegrityError as error:  # the same name saved a moment ago (a double click)
        raise ValidationFailed(TAKEN) from error


@atomic
def create_programme(actor, *, name: str, description: str = "") -> Programme:
    _check(actor)
    name, description = _clean(name, description)
    if _name_taken(name):
        raise ValidationFailed(TAKEN)
    programme = Programme(name=name, description=description, is_active=True)
    _save(programme)
    audit.record("programme.created", actor_id=actor.id, subject_type="programme",
                 subject_id=programme.id)
    return programme


@atomic
def update_programme(actor, programme: Programme, *, name: str, description: str,
                     is_active: bool) -> Programme:
    _check(actor)
    name, description = _clean(name, description)
    if _name_taken(name, programme.id):
        raise ValidationFailed(TAKEN)
    was_active = programme.is_active
    programme.name = name
    programme.description = description
    programme.is_active = is_active
    _save(programme)
    audit.record("programme.updated", actor_id=actor.id, subject_type="programme",
                 subject_id=programme.id)
    if was_active != is_active:
        audit.record("programme.activated" if is_active else "programme.deactivated",
                     actor_id=actor.id, subject_type="programme", subject_id=programme.id)
    return programme


def check_panel_programme(actor, panel: Panel | None, programme_id: int | None) -> None:
    """A panel may join an active programme, keep the one it has, or leave it."""
    current = panel.programme_id if panel is not None else None
    if programme_id == current:
        return
    if not can_manage_programmes(actor):
        raise NotAllowed("Only admins and programme leads can choose a panel's programme.")
    if programme_id is None:
        return
    programme = db.session.get(Programme, programme_id)
    if programme is None or not programme.is_active:
        raise ValidationFailed("Choose one of the programmes listed.")
