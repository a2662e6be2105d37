"""Feedback codes: long, random, from a large word list, stored only as a keyed slow hash."""

from __future__ import annotations

import hashlib
import hmac
import math

from sqlalchemy import text

from engage.config import Config
from engage.feedback import codes, services
from engage.feedback.models import FeedbackItem
from tests.factories_feedback import give


def test_word_list_is_large_plain_and_unique():
    words = codes.wordlist()
    assert len(words) >= 7600
    assert len(set(words)) == len(words)
    assert all(w.isascii() and w.isalpha() and w.islower() for w in words)
    assert "rape" not in words and "predator" not in words and "victim" not in words


def test_codes_are_seven_list_words_and_about_90_bits():
    code = codes.new_code()
    parts = code.split("-")
    assert len(parts) >= 7
    assert all(p in codes.wordlist() for p in parts)
    assert len(parts) * math.log2(len(codes.wordlist())) >= 90
    assert len({codes.new_code() for _ in range(50)}) == 50


def test_lookup_is_scrypt_keyed_by_the_secret_and_forgiving_of_typing(app):
    app.config["FEEDBACK_CODE_SCRYPT_N"] = Config.FEEDBACK_CODE_SCRYPT_N  # the real default
    code = "apple-harbor-candle-seventh-mosaic-garden-uphold"
    salt = hmac.new(app.config["SECRET_KEY"].encode(), b"feedback-code", hashlib.sha256).digest()
    expected = hashlib.scrypt(code.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32).hex()
    assert codes.lookup_key(code) == expected
    assert codes.lookup_key("  Apple Harbor candle, SEVENTH mosaic garden uphold ") == expected
    app.config["SECRET_KEY"] = "another-secret-key"
    assert codes.lookup_key(code) != expected


def test_the_code_itself_is_stored_nowhere(app, db):
    given = give()
    db.session.commit()
    row = db.session.execute(text("SELECT * FROM feedback_items")).one()
    stored = " ".join(str(v) for v in row)
    assert given.code not in stored
    assert given.code.split("-")[0] not in stored.split()
    assert given.item.code_lookup == codes.lookup_key(given.code)
    assert services.find_by_code(given.code.upper().replace("-", " ")).id == given.item.id
    assert services.find_by_code("apple-harbor-candle-seventh-mosaic-garden-uphold") is None
    assert db.session.query(FeedbackItem).count() == 1


def test_code_detection_finds_codes_but_not_sentences():
    assert codes.contains_code("my code is " + codes.new_code() + " thanks")
    assert not codes.contains_code("The staff were kind and the waiting room felt calm and "
                                   "quiet every single evening")
    assert not codes.contains_code("a well-known drop-in")
