"""How long the finance spend reports (and the dashboard's spend figure) take to sum a large
ledger: 20,000 approved claims over three financial years, 40 panels in 5 programmes.

Run: .venv/bin/python bench/payment_reports.py [--claims 20000] [--database-url URL]
(SQLite in a temporary file by default; pass a PostgreSQL URL to measure that instead.)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from engage import create_app
from engage.extensions import db


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=20000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        from engage.panels.models import Panel, Programme
        from engage.payments import reports
        from engage.payments.models import Claim, LedgerEntry
        from engage.payments.policy import seed_policies

        seed_policies()
        programmes = [Programme(name=f"Programme {i}", description="", is_active=True)
                      for i in range(5)]
        db.session.add_all(programmes)
        db.session.flush()
        panels = [Panel(name=f"Panel {i}", member_count=0,
                        programme_id=programmes[i % 5].id) for i in range(40)]
        db.session.add_all(panels)
        db.session.flush()
        chance = random.Random(1)
        first = date(2024, 4, 1)
        db.session.execute(Claim.__table__.insert(), [
            {"user_id": None, "kind": "involvement", "state": "approved",
             "activity_kind": "event", "activity_ref_id": i, "activity_title": "Meeting",
             "activity_date": first + timedelta(days=chance.randint(0, 1000)),
             "involvement_level": 4, "lead_ids": [], "explanation": [],
             "panel_id": chance.choice(panels).id if i % 10 else None}
            for i in range(args.claims)])
        entries = []
        for claim_id in db.session.scalars(select(Claim.id)):
            entries += [
                {"claim_id": claim_id, "entry_type": "payable", "category": "involvement",
                 "amount_pence": 7500, "dedupe_key": f"payable:{claim_id}:involvement"},
                {"claim_id": claim_id, "entry_type": "payable", "category": "car",
                 "amount_pence": 540, "dedupe_key": f"payable:{claim_id}:car"},
                {"claim_id": claim_id, "entry_type": "payment", "category": "payment",
                 "amount_pence": -8040, "dedupe_key": f"payment:{claim_id}"}]
        db.session.execute(LedgerEntry.__table__.insert(), entries)
        db.session.commit()
        print(f"database: {url.split(':')[0]}; {args.claims} claims, {len(entries)} ledger rows")
        for name, report in [("spend by panel and quarter", reports.spend_by_panel_and_quarter),
                             ("spend by programme and quarter",
                              reports.spend_by_programme_and_quarter)]:
            times = []
            for _ in range(5):
                db.session.expire_all()
                started = time.perf_counter()
                rows, _categories, grand = report()
                times.append(time.perf_counter() - started)
            assert grand == reports.ledger_payable_total()
            print(f"{name}: median {statistics.median(times) * 1000:.0f} ms "
                  f"({len(rows)} rows, total {grand} pence, equal to the ledger)")


if __name__ == "__main__":
    main()
