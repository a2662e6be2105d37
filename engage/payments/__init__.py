"""Participation payments: policy, claims, expenses, approvals, ledger, payouts, reports."""

from __future__ import annotations

from flask import Flask

from engage.accounts.queues import STAFF_QUEUES
from engage.core import wiring
from engage.events.signals import attendance_corrected, event_cancelled, register_finalised
from engage.panels.services import ROLE_NOTICES
from engage.payments import cli, events_link, notices, payouts, personal_data, queues, views
from engage.payments.models import (
    BatchState,
    ClaimKind,
    ClaimState,
    LedgerEntryType,
    PaymentChoice,
    PaymentMode,
    PaymentRoute,
    PayoutState,
    PayrollLineState,
    SupportKind,
)


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    wiring.add_personal_data(app, *personal_data.KINDS)
    wiring.add_job(app, "payments_send_payouts", payouts.process_batches, every=0)
    wiring.add_job(app, "payments_reconcile", payouts.reconcile, every=24 * 60 * 60)
    wiring.add_command(app, cli.import_receipts_command)
    wiring.connect(app, register_finalised, events_link.on_register_finalised)
    wiring.connect(app, attendance_corrected, events_link.on_attendance_corrected)
    wiring.connect(app, event_cancelled, events_link.on_event_cancelled)
    # the benefits and tax notice before someone accepts a paid role (panels, events)
    wiring.add_hook(app, ROLE_NOTICES, notices.benefits_notice)
    wiring.add_hook(app, STAFF_QUEUES, queues.staff_queues)  # claims waiting for this person
    wiring.add_template_names(app, ClaimState, ClaimKind, SupportKind, BatchState, PaymentChoice,
                              PaymentMode, PaymentRoute, LedgerEntryType, PayoutState,
                              PayrollLineState)
