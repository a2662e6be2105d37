"""What a 'you said, we did' entry links to.

`change_entry_links` has one row per link, with a `kind` and exactly that kind's target column
set (the check constraint `ck_change_entry_links_one_target`):

- `feedback` -> `feedback_id` (feedback_items);
- `consultation` -> `consultation_id` (a whole consultation, once its results are published);
- `consultation_answer` -> `answer_id` (response_answers, a named answer) or
  `anonymous_answer_id` (anonymous_answers; no database FK, see models.py), a free-text
  answer of a consultation whose results are published.

Every foreign key is ON DELETE CASCADE and the ORM relationships delete orphans too, so a
withdrawn piece of feedback or an erased answer disappears from every count. Counts go
through LINK_KINDS (public pages, feeds, staff pages). Counts of things people said (feedback,
answers) under 5 are shown as "fewer than 5"; a count of consultations is not about a person
and is shown exactly.

Quotes: feedback is quoted only where the giver allowed it and staff wrote a redacted quote.
Consultation answers are quoted only where the respondent chose "may be quoted publicly" for
that answer (the consultation's own published results show the same answers the same way),
credited as the respondent chose in their attribution preference (pseudonym, display name or
not credited; anonymous answers are never credited).

Closing the loop: named givers of linked feedback, named respondents of linked answers and
named respondents of linked consultations are told (once each) when the entry is published or
its status changes. Anonymous respondents cannot be told: nothing links them to an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from engage.changes.models import LinkKind
from engage.core.suppression import THRESHOLD, is_small


@dataclass(frozen=True)
class LinkKindSpec:
    kind: LinkKind
    counted: Callable[[int], str]  # "1 consultation", "7 pieces of feedback"
    none_yet: Callable[[], str]
    fewer_than: Callable[[], str]  # "Fewer than 5 pieces of feedback"
    # Counts of what people said are hidden under 5; a count of consultations is not.
    hide_small: bool = True


LINK_KINDS: dict[str, LinkKindSpec] = {
    LinkKind.FEEDBACK: LinkKindSpec(
        LinkKind.FEEDBACK,
        lambda n: ngettext("%(num)s piece of feedback", "%(num)s pieces of feedback", n),
        lambda: _("No pieces of feedback linked yet"),
        lambda: ngettext("Fewer than %(num)s piece of feedback",
                         "Fewer than %(num)s pieces of feedback", THRESHOLD)),
    LinkKind.CONSULTATION_ANSWER: LinkKindSpec(
        LinkKind.CONSULTATION_ANSWER,
        lambda n: ngettext("%(num)s consultation response", "%(num)s consultation responses",
                           n),
        lambda: _("No consultation responses linked yet"),
        lambda: ngettext("Fewer than %(num)s consultation response",
                         "Fewer than %(num)s consultation responses", THRESHOLD)),
    LinkKind.CONSULTATION: LinkKindSpec(
        LinkKind.CONSULTATION,
        lambda n: ngettext("%(num)s consultation", "%(num)s consultations", n),
        lambda: _("No consultations linked yet"),
        lambda: ngettext("Fewer than %(num)s consultation", "Fewer than %(num)s consultations",
                         THRESHOLD),
        hide_small=False),
}


def count_text(count: int, spec: LinkKindSpec) -> str:
    """Counts under 5 are never shown exactly: a '1' could point at one person."""
    if count == 0:
        return spec.none_yet()
    if spec.hide_small and is_small(count):
        return spec.fewer_than()
    return spec.counted(count)


def public_count(count: int) -> int | None:
    """The number for open data: null when it is between 1 and 4."""
    return None if is_small(count) else count
