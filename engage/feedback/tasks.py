"""Feedback polling job: write recent feedback again so its order of arrival is not kept."""

from __future__ import annotations

from engage.feedback import services


def mix_recent(worker_id: str) -> int:
    return services.mix_recent_feedback()

