"""Demo equality data: unnamed snapshots for the demo panels and consultations, and example
local population figures, so the dashboard's equality section has numbers to show (and hide)."""

from __future__ import annotations

import json
import random
from datetime import timedelta

from sqlalchemy import func, select

from engage.consultations.models import Consultation
from engage.core import clock
from engage.equality.models import EqualitySnapshot, PopulationFigure
from engage.equality.questions import QUESTIONS
from engage.extensions import db
from engage.panels.models import Panel

# Example figures only (roughly England and Wales, Census 2021), in tenths of a percent.
EXAMPLE_POPULATION = {
    ("ethnicity", "asian"): 93, ("ethnicity", "black"): 40, ("ethnicity", "mixed"): 29,
    ("ethnicity", "white"): 817, ("ethnicity", "other"): 21,
    ("sex", "female"): 510, ("sex", "male"): 490,
    ("disability", "yes"): 176, ("disability", "no"): 824,
}
WEIGHTS = {"ethnicity": {"white": 14, "black": 3, "asian": 5, "mixed": 2}}


def seed(people: dict) -> list[str]:
    lines = []
    if not db.session.scalar(select(func.count()).select_from(EqualitySnapshot)):
        rng = random.Random(11)  # noqa: S311 - demo data, not security
        panels = list(db.session.scalars(select(Panel.id)))
        consultations = list(db.session.scalars(select(Consultation.id)))
        for index in range(60):
            answers = {}
            for question in QUESTIONS:
                if rng.random() < .15:
                    continue
                weights = WEIGHTS.get(question.key)
                if weights:
                    answers[question.key] = rng.choices(list(weights), list(weights.values()))[0]
                else:
                    answers[question.key] = rng.choice(question.choices())[0]
            month = (clock.now() - timedelta(days=rng.randint(0, 150))).strftime("%Y-%m")
            on_panel = index % 3 == 0 and panels
            db.session.add(EqualitySnapshot(
                context_kind="panel" if on_panel else "consultation",
                context_id=rng.choice(panels if on_panel else consultations or [0]),
                month=month, answers=json.dumps(answers, sort_keys=True)))
        lines.append("  Equality: 60 unnamed demo snapshots for the dashboard")
    for (question_key, option_key), per_mille in EXAMPLE_POPULATION.items():
        if db.session.get(PopulationFigure, (question_key, option_key)) is None:
            db.session.add(PopulationFigure(question_key=question_key, option_key=option_key,
                                            per_mille=per_mille))
    db.session.flush()
    return lines
