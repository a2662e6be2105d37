"""Backups restore into a fresh database with every row and every uploaded file (local folder
or S3-compatible object storage), are encrypted, and encrypted fields still decrypt."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text

from engage.accounts.models import User
from engage.core.crypto import FieldCipher
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
        assert b"SQLite format" not in (tmp_path / "b.sqlite3").read_bytes()
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
        with pytest.raises(BackupError, match="not an Engage backup"):
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


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _receipt_upload(person) -> str:
    """A parking receipt on a draft claim; returns its stored name."""
    from engage.payments import services as payments
    from engage.payments.models import Receipt
    from tests.factories_payments import make_claim

    draft = make_claim(person, ref_id=77)
    payments.add_expense(person, draft, category="parking", expense_date=draft.activity_date,
                         amount_pence=300, miles=None, description="", preapproved=False,
                         receipt_file=("parking.png", PNG))
    db.session.commit()
    return db.session.scalar(select(Receipt.stored_name))


def test_a_backup_holds_the_receipts_and_restores_them(tmp_path):
    from engage.payments import receipts

    app = make_app(f"sqlite:///{tmp_path / 'live.sqlite3'}",
                   UPLOADS_DIR=str(tmp_path / "uploads"))
    with app.app_context():
        db.create_all()
        person_id = _seed()
        stored = _receipt_upload(db.session.get(User, person_id))
        backup(tmp_path / "engage.backup")
        receipts.delete(stored)
        added_since = "f" * 48
        receipts.replace(added_since, PNG)
        db.engine.dispose()
    sealed = (tmp_path / "engage.backup").read_bytes()
    assert PNG not in sealed and b"SQLite format" not in sealed
    fresh = make_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
                     UPLOADS_DIR=str(tmp_path / "uploads"))
    with fresh.app_context():
        assert restore(tmp_path / "engage.backup") == {"files": 1}
        assert receipts.read(stored) == PNG
        assert not receipts.exists(added_since)  # the storage holds exactly the backup's files
        _assert_readable(person_id)
        db.engine.dispose()


def test_a_backup_made_with_another_key_says_which_setting_to_check(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    with app.app_context():
        db.create_all()
        backup(tmp_path / "engage.backup")
        db.engine.dispose()
    other = make_app(f"sqlite:///{tmp_path / 'other.sqlite3'}",
                     FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode())
    other.extensions["engage_field_cipher"] = FieldCipher(other.config["FIELD_ENCRYPTION_KEY"])
    with other.app_context(), pytest.raises(BackupError, match="FIELD_ENCRYPTION_KEY"):
        restore(tmp_path / "engage.backup")


def test_the_restore_drill_with_object_storage(tmp_path, s3_server):
    """Back up a site whose receipts are in an S3-compatible bucket, lose the bucket, restore
    into a new database and a new bucket: the receipt downloads again, byte for byte."""
    from engage.core.storage import storage
    from engage.payments import receipts

    source_db = POSTGRES_URL or f"sqlite:///{tmp_path / 'live.sqlite3'}"
    app = make_app(source_db, **s3_server.settings("engage-live"))
    with app.app_context():
        if POSTGRES_URL:
            _truncate_all()
        else:
            db.create_all()
        storage().create_bucket()
        person_id = _seed()
        stored = _receipt_upload(db.session.get(User, person_id))
        raw = storage().get(receipts.key_of(stored))
        assert PNG not in raw  # encrypted in the bucket too
        before = _row_counts()
        backup(tmp_path / "engage.backup")
        if POSTGRES_URL:
            _truncate_all()
        db.engine.dispose()
    target_db = POSTGRES_URL or f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    fresh = make_app(target_db, **s3_server.settings("engage-restored"))
    with fresh.app_context():
        storage().create_bucket()
        assert restore(tmp_path / "engage.backup") == {"files": 1}
        assert _row_counts() == before
        assert receipts.read(stored) == PNG
        assert list(storage().list_keys()) == [receipts.key_of(stored)]
        _assert_readable(person_id)
        if POSTGRES_URL:
            _truncate_all()
        db.engine.dispose()
