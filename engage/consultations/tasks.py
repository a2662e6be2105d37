"""Consultation polling jobs: close consultations whose time is up, add sealed anonymous
answers to the results in batches, send notices."""

from __future__ import annotations

from flask import current_app

from engage.consultations import services


def close_due(worker_id: str) -> int:
    return services.close_due_consultations()


def add_anonymous_answers(worker_id: str) -> int:
    return services.add_waiting_answers()


def send_notices(worker_id: str) -> int:
    # Notices carry links built with url_for, which needs a request context (paths only).
    with current_app.test_request_context("/"):
        return services.send_due_notices()
