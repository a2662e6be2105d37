"""Closing an account: payment records are kept but pseudonymised; drafts and files go."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from engage.core.personal_data import erase_all, export_all
from engage.payments import payouts, services
from engage.payments.models import Claim, LedgerEntry, Receipt
from tests.factories import make_member, make_staff
from tests.factories_payments import approved_claim, make_claim, seed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_closing_an_account_keeps_payment_records_without_the_person(app, db, tmp_path):
    from engage.core.permissions import Role

    app.config["UPLOADS_DIR"] = str(tmp_path)
    seed()
    member = make_member()
    paid = approved_claim(member)
    payouts.record_manual_payment(make_staff(Role.FINANCE), paid, "V-1")
    draft = make_claim(member, ref_id=99)
    services.add_expense(member, draft, category="parking", expense_date=draft.activity_date,
                         amount_pence=300, miles=None, description="", preapproved=False,
                         receipt_file=("p.png", PNG))
    stored = Path(tmp_path) / "receipts" / db.session.scalar(select(Receipt.stored_name))
    assert stored.exists()
    exported = export_all(member)
    assert len(exported["payment_claims"]) == 2
    paid_id, draft_id = paid.id, draft.id

    erase_all(member)
    db.session.flush()
    db.session.expire_all()
    assert db.session.get(Claim, draft_id) is None
    assert not stored.exists()
    kept = db.session.get(Claim, paid_id)
    assert kept is not None and kept.user_id is None and kept.total_pence == 7500
    assert all(e.user_id is None for e in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.claim_id == paid_id)))
