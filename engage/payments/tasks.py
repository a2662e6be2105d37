"""Payments polling jobs run by the worker."""

from __future__ import annotations

from engage.payments.payouts import process_batches, reconcile

JOBS = [
    ("payments_send_payouts", process_batches, 0),
    ("payments_reconcile", reconcile, 24 * 60 * 60),
]
