"""Sealed envelopes: anonymous content waits here, unlinkable, until the worker writes it.

Why: a row written in the same transaction as a named row is linked to it for anyone holding
the database, whatever its id. PostgreSQL stamps both with the same transaction id (xmin), and
both databases store rows in the order they arrive. So a request that records a named fact
(a participation receipt) never writes the anonymous row beside it. It seals the anonymous
content in an envelope (encrypted, random id, no time) and the owning domain's worker job
opens envelopes in batches, in shuffled order, and writes the anonymous rows (see
docs/decisions/0015-anonymity-against-the-database-holder.md).

The domain that owns the anonymous table decides when to open its envelopes (for example,
when at least five are waiting); this module only stores, counts, finds and opens them.
Opened envelopes are deleted in the same transaction as the rows written from them.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from engage.core.models import SealedEnvelope
from engage.extensions import db

_shuffler = secrets.SystemRandom()


class AlreadySealed(Exception):
    """An envelope with this lookup is already waiting (the same page was sent twice)."""


@dataclass(frozen=True)
class Envelope:
    id: int
    scope: str
    payload: dict[str, Any]


def seal(kind: str, payload: dict[str, Any], *, scope: str = "",
         lookup: str | None = None) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(SealedEnvelope(kind=kind, scope=scope, lookup=lookup,
                                          payload=json.dumps(payload, sort_keys=True)))
    except IntegrityError as error:
        if lookup is not None and find(kind, lookup) is not None:
            raise AlreadySealed() from error
        raise


def find(kind: str, lookup: str) -> Envelope | None:
    row = db.session.scalar(select(SealedEnvelope).where(
        SealedEnvelope.kind == kind, SealedEnvelope.lookup == lookup))
    return None if row is None else Envelope(row.id, row.scope, json.loads(row.payload))


def waiting(kind: str) -> dict[str, int]:
    """How many envelopes wait, per scope."""
    rows = db.session.execute(
        select(SealedEnvelope.scope, func.count()).where(SealedEnvelope.kind == kind)
        .group_by(SealedEnvelope.scope))
    return {scope: count for scope, count in rows}


def count(kind: str, scope: str) -> int:
    return db.session.scalar(select(func.count()).select_from(SealedEnvelope).where(
        SealedEnvelope.kind == kind, SealedEnvelope.scope == scope)) or 0


def open_all(kind: str, scope: str) -> list[Envelope]:
    """Every waiting envelope of this kind and scope, in random order, deleted as they are
    opened: write the rows in the order given, in the same transaction."""
    rows = list(db.session.scalars(select(SealedEnvelope).where(
        SealedEnvelope.kind == kind, SealedEnvelope.scope == scope)))
    envelopes = [Envelope(row.id, row.scope, json.loads(row.payload)) for row in rows]
    if rows:
        db.session.execute(delete(SealedEnvelope).where(
            SealedEnvelope.id.in_([row.id for row in rows]))
            .execution_options(synchronize_session=False))
        for row in rows:
            db.session.expunge(row)
    shuffle(envelopes)
    return envelopes


def shuffle(items: list) -> None:
    _shuffler.shuffle(items)


def discard(kind: str, lookup: str) -> bool:
    result = db.session.execute(delete(SealedEnvelope).where(
        SealedEnvelope.kind == kind, SealedEnvelope.lookup == lookup)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1
