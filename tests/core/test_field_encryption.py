"""Encrypted fields: AES-256-GCM with no time stored, padded lengths, rotation, and the data
migration from Fernet tokens (which carry their creation second in clear)."""

from __future__ import annotations

import base64
from datetime import date

import flask_migrate
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from engage.core.crypto import FieldCipher, FieldKeyError, padded_length
from engage.extensions import db as _db

KEY = "dGVzdGluZy1vbmx5LWZpZWxkLWtleS0zMi1ieXRlcyE="
OTHER_KEY = Fernet.generate_key().decode()


def test_a_value_comes_back_and_two_encryptions_differ():
    cipher = FieldCipher(KEY)
    first, second = cipher.encrypt("I felt listened to"), cipher.encrypt("I felt listened to")
    assert first != second
    assert cipher.decrypt(first) == cipher.decrypt(second) == "I felt listened to"
    assert cipher.decrypt(cipher.encrypt("")) == ""
    assert cipher.decrypt(cipher.encrypt("ends in nul\x00")) == "ends in nul\x00"


def test_stored_length_says_only_the_size_bucket():
    cipher = FieldCipher(KEY)
    short = {len(cipher.encrypt("x" * n)) for n in range(0, 31)}
    assert len(short) == 1
    assert len(cipher.encrypt("x" * 200)) == len(cipher.encrypt("y" * 250))
    assert [padded_length(n) for n in (0, 31, 32, 100, 4095, 4096, 9000)] == [
        32, 32, 64, 128, 4096, 8192, 12288]


def test_a_rotated_key_still_reads_old_values_and_a_wrong_key_reads_nothing():
    old = FieldCipher(OTHER_KEY).encrypt("access needs: step-free")
    rotated = FieldCipher(f"{KEY},{OTHER_KEY}")
    assert rotated.decrypt(old) == "access needs: step-free"
    assert FieldCipher(KEY).decrypt(rotated.encrypt("new")) == "new"
    with pytest.raises(FieldKeyError):
        FieldCipher(KEY).decrypt(old)


def test_a_changed_byte_is_refused():
    cipher = FieldCipher(KEY)
    raw = bytearray(base64.urlsafe_b64decode(cipher.encrypt("hello")))
    raw[-1] ^= 1
    with pytest.raises(FieldKeyError):
        cipher.decrypt(base64.urlsafe_b64encode(bytes(raw)).decode())
    with pytest.raises(FieldKeyError):
        cipher.decrypt(Fernet(KEY.encode()).encrypt(b"hello").decode())


# --- the data migration ---------------------------------------------------------------------


def _fernet_rows(fernet: Fernet) -> None:
    with _db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO feedback_items (id, received_on, body, may_quote, status, "
            "safeguarding_flagged) VALUES (12345, :day, :body, false, 'new', false)"),
            {"day": date(2026, 5, 1), "body": fernet.encrypt(b"The leaflet helped").decode()})
        connection.execute(text(
            "INSERT INTO equality_tallies (context_kind, month, snapshot_count, counts) "
            "VALUES ('panel', '2026-05', 3, :counts)"),
            {"counts": fernet.encrypt(b'{"1": {}}').decode()})


def _stored(sql: str) -> str:
    with _db.engine.connect() as connection:
        return connection.execute(text(sql)).scalar_one()


def test_the_migration_re_encrypts_fernet_tokens_without_their_time(migration_app):
    flask_migrate.upgrade(revision="0011_membership_periods")
    fernet = Fernet(KEY.encode())
    _fernet_rows(fernet)

    flask_migrate.upgrade()

    cipher = FieldCipher(KEY)
    body = _stored("SELECT body FROM feedback_items WHERE id = 12345")
    counts = _stored("SELECT counts FROM equality_tallies")
    assert not body.startswith("gAAAAA") and not counts.startswith("gAAAAA")
    assert cipher.decrypt(body) == "The leaflet helped"
    assert cipher.decrypt(counts) == '{"1": {}}'

    flask_migrate.downgrade(revision="0011_membership_periods")
    assert fernet.decrypt(_stored("SELECT body FROM feedback_items").encode()) == (
        b"The leaflet helped")


def test_without_the_key_the_migration_changes_nothing_and_says_what_to_do(
        migration_app, monkeypatch, caplog):
    flask_migrate.upgrade(revision="0011_membership_periods")
    _fernet_rows(Fernet(KEY.encode()))
    before = _stored("SELECT body FROM feedback_items")
    monkeypatch.setitem(migration_app.config, "FIELD_ENCRYPTION_KEY", "")
    monkeypatch.delenv("FIELD_ENCRYPTION_KEY", raising=False)

    with pytest.raises(SystemExit):  # Flask-Migrate prints the error and exits
        flask_migrate.upgrade()

    assert "Set FIELD_ENCRYPTION_KEY to the value the site runs with" in caplog.text
    assert "Nothing has been changed" in caplog.text
    assert _stored("SELECT body FROM feedback_items") == before


def test_with_a_different_key_the_migration_stops_and_names_the_column(migration_app,
                                                                      monkeypatch, caplog):
    flask_migrate.upgrade(revision="0011_membership_periods")
    _fernet_rows(Fernet(KEY.encode()))
    monkeypatch.setitem(migration_app.config, "FIELD_ENCRYPTION_KEY", OTHER_KEY)

    with pytest.raises(SystemExit):
        flask_migrate.upgrade()

    assert "feedback_items.body could not be decrypted" in caplog.text
    assert _stored("SELECT body FROM feedback_items").startswith("gAAAAA")
