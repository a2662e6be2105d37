"""Backups restore into a fresh database with every row, and encrypted fields still decrypt."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from engage.equality import services as equality
from engage.extensions import db
from engage.lifecycle.backup import BackupError, backup, restore
from engage.panels.models import PanelMembership
from engage.payments.models import LedgerEntry
from engage.payments.reports import ledger_payable_total
from tests.conftest import POSTGRES_URL, _truncate_all, make_app
from tests.factories import make_member
from tests.factories_panels import make_membership, make_panel
from tests.factories_payments import approved_claim


def _seed() -> int:
    panel = make_panel()
    person = make_member(username="river")
    make_membership(panel, person, access_needs="A quiet room, please")
    equality.save_answers(person, {"ethnicity": "mixed"})
    equality.take_equality_snapshot(person, "panel", panel.id)
    approved_claim(person)  # ledger entries for the payable amounts
    db.session.commit()
    return person.id


def _ledger_totals() -> dict[str, int]:
    """The ledger's totals by entry type and category, and its approved spend."""
    rows = db.session.execute(
        select(LedgerEntry.entry_type, LedgerEntry.category, func.sum(LedgerEntry.amount_pence))
        .group_by(LedgerEntry.entry_type, LedgerEntry.category)).all()
    totals = {f"{kind}/{category}": int(amount) for kind, category, amount in rows}
    totals["payable"] = ledger_payable_total()
    return totals


def _row_counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t))
            for t in db.metadata.sorted_tables}


def _assert_readable(person_id: int) -> None:
    membership = db.session.scalar(select(PanelMembership))
    assert membership.access_needs == "A quiet room, please"
    from engage.accounts.models import User

    assert equality.answers_of(db.session.get(User, person_id)) == {"ethnicity": "mixed"}
    assert equality.snapshot_counts("panel")["ethnicity"]["mixed"] == 1


def test_sqlite_backup_restores_into_a_fresh_database(tmp_path):
    source = make_app(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    with source.app_context():
        db.create_all()
        person_id = _seed()
        before = _row_counts()
        assert before["panel_memberships"] == 1 and before["equality_snapshots"] == 1
        ledger = _ledger_totals()
        assert ledger["payable"] > 0
        backup(tmp_path / "backups" / "engage.backup")
        db.engine.dispose()
    fresh = make_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    with fresh.app_context():
        restore(tmp_path / "backups" / "engage.backup")
        assert _row_counts() == before
        assert _ledger_totals() == ledger
        _assert_readable(person_id)
        raw = db.session.execute(text("SELECT access_needs FROM panel_memberships")).scalar()
        assert "quiet" not in raw  # still encrypted at rest after the round trip
        db.engine.dispose()


def test_the_commands_back_up_and_restore(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    with app.app_context():
        db.create_all()
        person_id = _seed()
        runner = app.test_cli_runner()
        made = runner.invoke(args=["engage", "backup", str(tmp_path / "b.sqlite3")])
        assert made.exit_code == 0, made.output
        assert "Keep FIELD_ENCRYPTION_KEY safe" in made.output
        db.session.execute(text("DELETE FROM equality_answers"))
        db.session.commit()
        restored = runner.invoke(args=["engage", "restore", "--yes",
                                       str(tmp_path / "b.sqlite3")])
        assert restored.exit_code == 0, restored.output
        _assert_readable(person_id)
        db.engine.dispose()


def test_restoring_something_that_is_not_a_backup_says_so(tmp_path):
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello " * 200)
    app = make_app(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    with app.app_context():
        db.create_all()
        with pytest.raises(BackupError, match="not an SQLite backup"):
            restore(not_a_backup)
        with pytest.raises(BackupError, match="no backup file"):
            restore(tmp_path / "missing")
        db.engine.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_postgres_backup_restores_with_pg_restore(app, tmp_path):
    person_id = _seed()
    before = _row_counts()
    ledger = _ledger_totals()
    backup(tmp_path / "engage.dump")
    _truncate_all()
    assert _row_counts()["panel_memberships"] == 0
    restore(tmp_path / "engage.dump")
    assert _row_counts() == before
    assert _ledger_totals() == ledger
    _assert_readable(person_id)
