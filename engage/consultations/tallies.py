"""Counting answers to each kind of question, for staff, for published results (with small
numbers suppressed), for the CSV and for the PDF summary.

Published counts under 5 read "fewer than 5". Where each person gives one answer (one choice, a
dropdown, a scale, a date, each statement of a matrix, the option ranked first), hiding a
single count is not enough: it could be worked out from the number of responses and the
others, so the next smallest count is hidden too ("not shown").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup

from engage.consultations.models import (
    MATRIX_SEPARATOR,
    PREFER_NOT_TO_SAY,
    Question,
    QuestionKind,
)
from engage.core.charts import Bar, bar_chart
from engage.core.suppression import THRESHOLD

MONTHS_BEFORE_YEARS = 24  # dates spread wider than this are counted by year


def fewer_than_five(count: int) -> str:
    return _("fewer than %(n)s", n=THRESHOLD) if count < THRESHOLD else str(count)


@dataclass
class OptionCount:
    key: str
    label: str
    count: int
    hidden: bool = False  # hidden so that a small count cannot be worked out from the others

    @property
    def suppressed(self) -> bool:
        return self.hidden or self.count < THRESHOLD

    @property
    def published(self) -> str:
        return _("not shown") if self.hidden else fewer_than_five(self.count)


def protect_small_numbers(options: list[OptionCount]) -> None:
    """For counts where each person gives one answer: if only one count were hidden it could
    be worked out from the total and the others, so the next smallest is hidden too."""
    small = [o for o in options if o.count < THRESHOLD]
    if len(small) == 1:
        others = sorted((o for o in options if o.count >= THRESHOLD), key=lambda o: o.count)
        if others:
            others[0].hidden = True


def chart_of(title: str, options: list[OptionCount], *, published: bool, chart_id: str
             ) -> Markup:
    bars = [Bar(o.label, None if published and o.suppressed else o.count,
                o.published if published else str(o.count)) for o in options]
    return bar_chart(title, bars, chart_id=chart_id)


@dataclass
class MatrixRow:
    key: str
    label: str
    options: list[OptionCount]
    chart: Markup | None = None


@dataclass
class RankedOption:
    key: str
    label: str
    ranked_by: int  # people who put it anywhere in their order
    position_total: int

    @property
    def average(self) -> float | None:
        return self.position_total / self.ranked_by if self.ranked_by else None

    def average_text(self, published: bool) -> str:
        if self.ranked_by == 0:
            return _("not ranked")
        if published and self.ranked_by < THRESHOLD:
            return _("not shown")
        return f"{self.average:.1f}"


@dataclass
class Tally:
    """What a question's answers add up to."""

    options: list[OptionCount] = field(default_factory=list)
    chart: Markup | None = None
    rows: list[MatrixRow] = field(default_factory=list)  # matrix: one per statement
    ranking: list[RankedOption] = field(default_factory=list)  # ranking: in overall order


def _options_for(question: Question) -> list[tuple[str, str]]:
    if question.kind == QuestionKind.SCALE:
        labels = {1: question.scale_low_label, 5: question.scale_high_label}
        return [(str(v), f"{v}" + (f" ({labels[v]})" if labels.get(v) else ""))
                for v in range(1, 6)]
    return [(o["key"], o["label"]) for o in question.options or []]


def _with_prefer_not(options: list[OptionCount], count: int) -> list[OptionCount]:
    return [*options, OptionCount(PREFER_NOT_TO_SAY, _("Prefer not to say"), count)]


def _count_choices(question: Question, answers: list[Any], published: bool) -> Tally:
    counts: Counter[str] = Counter()
    for answer in answers:
        for key in answer.choices or []:
            counts[key] += 1
        if answer.prefer_not_to_say:
            counts[PREFER_NOT_TO_SAY] += 1
    options = _with_prefer_not([OptionCount(k, label, counts[k])
                                for k, label in _options_for(question)],
                               counts[PREFER_NOT_TO_SAY])
    if published and question.kind != QuestionKind.MULTIPLE_CHOICE:
        protect_small_numbers(options)
    return Tally(options=options, chart=chart_of(question.text, options, published=published,
                                                 chart_id=f"chart-q{question.id}"))


def _count_ranking(question: Question, answers: list[Any], published: bool) -> Tally:
    firsts: Counter[str] = Counter()
    positions: dict[str, list[int]] = {key: [] for key, _label in _options_for(question)}
    prefer = 0
    for answer in answers:
        if answer.prefer_not_to_say:
            prefer += 1
            continue
        order = list(answer.choices or [])
        if order:
            firsts[order[0]] += 1
        for number, key in enumerate(order, start=1):
            positions.setdefault(key, []).append(number)
    labels = dict(_options_for(question))
    ranking = [RankedOption(key, labels.get(key, key), len(places), sum(places))
               for key, places in positions.items()]
    ranking.sort(key=lambda r: (r.average is None, r.average or 0, r.label.lower()))
    options = _with_prefer_not([OptionCount(r.key, r.label, firsts[r.key]) for r in ranking],
                               prefer)
    if published:
        protect_small_numbers(options)
    chart = chart_of(_("Ranked first: %(q)s", q=question.text), options, published=published,
                     chart_id=f"chart-q{question.id}")
    return Tally(options=options, chart=chart, ranking=ranking)


def _count_matrix(question: Question, answers: list[Any], published: bool) -> Tally:
    counts: dict[str, Counter[str]] = {key: Counter() for key in question.choice_keys()}
    for answer in answers:
        for choice in answer.choices or []:
            row, _sep, column = choice.partition(MATRIX_SEPARATOR)
            if row in counts:
                counts[row][column] += 1
    rows = []
    for key, label in _options_for(question):
        options = _with_prefer_not([OptionCount(c["key"], c["label"], counts[key][c["key"]])
                                    for c in question.columns or []],
                                   counts[key][PREFER_NOT_TO_SAY])
        if published:
            protect_small_numbers(options)
        rows.append(MatrixRow(key, label, options, chart_of(
            f"{question.text}: {label}", options, published=published,
            chart_id=f"chart-q{question.id}-{key}")))
    return Tally(rows=rows)


def _date_buckets(days: list[date]) -> tuple[list[tuple[str, str]], Any]:
    """Buckets with their labels, and how to find a date's bucket: months, or years when the
    dates are spread over more than two years."""
    first, last = min(days), max(days)
    if (last.year - first.year) * 12 + last.month - first.month < MONTHS_BEFORE_YEARS:
        buckets, month = [], date(first.year, first.month, 1)
        while month <= last:
            buckets.append((month.strftime("%Y-%m"), month.strftime("%B %Y")))
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        return buckets, lambda d: d.strftime("%Y-%m")
    return ([(str(y), str(y)) for y in range(first.year, last.year + 1)],
            lambda d: str(d.year))


def _count_dates(question: Question, answers: list[Any], published: bool) -> Tally:
    days = []
    for answer in answers:
        try:
            days.append(date.fromisoformat(answer.text or ""))
        except ValueError:
            continue
    if not days:
        return Tally()
    buckets, bucket_of = _date_buckets(days)
    counts = Counter(bucket_of(d) for d in days)
    options = [OptionCount(key, label, counts[key]) for key, label in buckets]
    if published:
        protect_small_numbers(options)
    return Tally(options=options, chart=chart_of(question.text, options, published=published,
                                                 chart_id=f"chart-q{question.id}"))


def tally(question: Question, answers: list[Any], *, published: bool) -> Tally:
    """Counts for one question from its answers (Answer or AnonymousAnswer rows)."""
    kind = QuestionKind(question.kind)
    if kind == QuestionKind.FREE_TEXT:
        return Tally()
    if kind == QuestionKind.DATE:
        return _count_dates(question, answers, published)
    if kind == QuestionKind.RANKING:
        return _count_ranking(question, answers, published)
    if kind == QuestionKind.MATRIX:
        return _count_matrix(question, answers, published)
    return _count_choices(question, answers, published)
