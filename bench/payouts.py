"""How long a payout batch of 1,000 claims takes against the local Stripe-compatible server,
and how long the 1,000 signed payout.paid webhooks that then mark them paid take.

Run: .venv/bin/python bench/payouts.py [--claims 1000] [--database-url URL]
(SQLite in a temporary file by default; pass a PostgreSQL URL to measure that instead.)
Target: the 1,000 transfers send in under 30 s on the development machine (2 shared cores).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from engage import create_app
from engage.extensions import db
from tests.stripe_server import StripeServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    server = StripeServer().start()
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, STRIPE_API_BASE=server.api_base,
                     STRIPE_SECRET_KEY="sk_test_bench",  # noqa: S106 - the local server's
                     STRIPE_WEBHOOK_SECRET=server.webhook_secret,
                     UPLOADS_DIR=str(workdir / "receipts"))
    with app.app_context():
        db.drop_all()
        db.create_all()
        from engage.core.permissions import Role
        from engage.payments import payouts, services
        from engage.payments.activities import Attendee
        from engage.payments.models import LedgerEntry, Payout, PayoutState
        from tests.factories import make_member, make_staff
        from tests.factories_payments import connect_bank, make_activity, seed

        seed()
        lead, finance = make_staff(Role.FACILITATOR), make_staff(Role.FINANCE)
        officer = make_staff(Role.FINANCE)
        started = time.perf_counter()
        members = []
        for _ in range(args.claims):
            member = make_member(password="x")  # noqa: S106 - never signs in
            connect_bank(member, server.add_account())
            members.append(member)
        claims = services.create_draft_involvement_claims(
            make_activity(lead_ids=[lead.id], ref_id=1), [Attendee(m.id, 210) for m in members])
        for member, claim in zip(members, claims, strict=True):
            services.submit_claim(member, claim)
            services.lead_approve(lead, claim)
        services.bulk_finance_approve(finance, [c.id for c in claims])
        db.session.commit()
        setup = time.perf_counter() - started

        started = time.perf_counter()
        _batch, problems = payouts.start_batch(officer, [c.id for c in claims])
        db.session.commit()
        queued = time.perf_counter() - started
        started = time.perf_counter()
        payouts.process_batches()
        sent = time.perf_counter() - started
        done = db.session.scalar(select(func.count()).select_from(Payout).where(
            Payout.state == PayoutState.SENT))
        entries = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.entry_type == "payment"))

        # Each member's Stripe account pays out to their bank; Stripe's signed payout.paid
        # reaches the webhook endpoint, which reads the payout's balance transactions.
        for member in members:
            server.pay_out(services.preferences_of(member).stripe_account_id)
        events = [e for e in server.pending_events() if e["type"] == "payout.paid"]
        client = app.test_client()
        started = time.perf_counter()
        answers = [server.deliver(event, client=client) for event in events]
        webhooks = time.perf_counter() - started
        paid = db.session.scalar(select(func.count()).select_from(Payout).where(
            Payout.state == PayoutState.PAID))
        print(f"database: {url.split(':')[0]}")
        print(f"set-up of {args.claims} approved claims: {setup:.1f} s")
        print(f"start batch (payout rows + idempotency keys): {queued:.2f} s")
        print(f"send {done} transfers through the Stripe SDK: {sent:.2f} s "
              f"({sent / max(done, 1) * 1000:.1f} ms each; target under 30 s for 1,000)")
        print(f"transfers at the server: {len(server.transfers_for())}; "
              f"payment ledger entries: {entries}; problems: {len(problems)}")
        print(f"{len(events)} signed payout.paid webhooks applied: {webhooks:.2f} s "
              f"({webhooks / max(len(events), 1) * 1000:.1f} ms each); "
              f"{answers.count(200)} answered 200; payouts now paid: {paid}")
        db.session.remove()
    server.stop()


if __name__ == "__main__":
    main()
