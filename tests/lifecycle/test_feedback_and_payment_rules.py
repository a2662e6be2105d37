"""Retention and closure rules added at merge: anonymous feedback replies and payment records."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from engage.accounts import services as accounts
from engage.core import clock
from engage.core.personal_data import declared
from engage.extensions import db
from engage.feedback import services as feedback
from engage.feedback.models import FeedbackGiver, FeedbackItem, FeedbackReply
from engage.lifecycle import retention
from engage.payments.models import Claim, LedgerEntry
from engage.payments.reports import ledger_payable_total, spend_by_panel_and_quarter
from tests.factories import PASSWORD, make_member
from tests.factories_feedback import give
from tests.factories_payments import approved_claim

START = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def _reply(item: FeedbackItem, day: date) -> None:
    db.session.add(FeedbackReply(feedback_id=item.id, body="Thank you for telling us.",
                                 written_on=day))
    db.session.flush()


def test_anonymous_replies_go_two_years_after_the_last_activity(db):
    person = make_member()
    with clock.frozen(START):
        quiet = give("The waiting room was cold.")
        busy = give("The receptionist was kind.")
        named = give("Please open later.", actor=person, attach_name=True)
        for given in (quiet, busy, named):
            _reply(given.item, START.date())
        _reply(busy.item, date(2026, 9, 1))  # a later reply keeps the code alive longer
    just_before = datetime(2028, 1, 9, 9, 0, tzinfo=UTC)
    with clock.frozen(just_before):
        assert retention.apply_all()["feedback_anonymous_replies"] == 0
    with clock.frozen(START.replace(year=2028) + timedelta(days=1)):
        assert retention.apply_all()["feedback_anonymous_replies"] == 1
    db.session.expire_all()
    assert feedback.find_by_code(quiet.code) is None  # the code no longer works
    assert db.session.get(FeedbackItem, quiet.item.id) is not None  # the feedback stays
    assert not db.session.get(FeedbackItem, quiet.item.id).replies
    assert feedback.find_by_code(busy.code) is not None
    assert feedback.find_by_code(named.code) is not None  # named feedback is not touched
    with clock.frozen(datetime(2028, 9, 2, tzinfo=UTC)):
        assert retention.apply_all()["feedback_anonymous_replies"] == 1
        assert retention.apply_all()["feedback_anonymous_replies"] == 0  # done once


def test_keeping_contributions_keeps_named_feedback_without_the_name(db, request_ctx):
    person = make_member()
    kept = give("The evening drop-in closes too early.", actor=person, attach_name=True)
    kept.item.may_quote, kept.item.quote = True, "The drop-in closes too early."
    db.session.commit()
    assert declared()["feedback_givers"].anonymise is not None
    accounts.close_account(person, PASSWORD, keep_contributions=True)
    db.session.commit()
    item = db.session.get(FeedbackItem, kept.item.id)
    assert item is not None and item.body == "The evening drop-in closes too early."
    assert item.public_quote is None
    assert db.session.scalar(select(func.count()).select_from(FeedbackGiver)) == 0


def test_deleting_contributions_deletes_named_feedback(db, request_ctx):
    person = make_member()
    gone = give("Please open later.", actor=person, attach_name=True)
    db.session.commit()
    accounts.close_account(person, PASSWORD, keep_contributions=False)
    db.session.commit()
    assert db.session.get(FeedbackItem, gone.item.id) is None


def test_payment_records_are_pseudonymised_six_years_after_the_financial_year(db):
    with clock.frozen(datetime(2026, 5, 20, 9, 0, tzinfo=UTC)):
        old = approved_claim(day=date(2026, 4, 5))  # financial year 2025-26, ends 5 April 2026
        new = approved_claim(day=date(2026, 4, 6))  # financial year 2026-27
        db.session.commit()
    total = ledger_payable_total()
    assert total > 0
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)
                             .where(LedgerEntry.claim_id == old.id,
                                    LedgerEntry.user_id.is_not(None))) > 0
    spend_before = sum(r.total_pence for r in spend_by_panel_and_quarter()[0])
    with clock.frozen(datetime(2032, 4, 4, 12, 0, tzinfo=UTC)):
        assert retention.apply_all()["payment_records"] == 0
    with clock.frozen(datetime(2032, 4, 7, 12, 0, tzinfo=UTC)):
        assert retention.apply_all()["payment_records"] == 1
        assert retention.apply_all()["payment_records"] == 0
    db.session.commit()
    assert db.session.get(Claim, old.id).user_id is None
    assert db.session.get(Claim, new.id).user_id is not None
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)
                             .where(LedgerEntry.claim_id == old.id,
                                    LedgerEntry.user_id.is_not(None))) == 0
    assert ledger_payable_total() == total  # amounts stay; the ledger still balances
    assert sum(r.total_pence for r in spend_by_panel_and_quarter()[0]) == spend_before


def test_data_we_hold_shows_the_payment_period_and_what_closure_does(db):
    claims = declared()["payment_claims"]
    assert claims.retention.key == "payment_records"
    assert "without your name" in claims.on_close
    assert retention.periods()["payment_records"] == 72
