"""What a 'you said, we did' entry links to, and the extension point for consultations.

Today: `LinkKind.FEEDBACK` rows in `change_entry_links` carry `feedback_id` (a real foreign key,
ON DELETE CASCADE, so withdrawn feedback disappears from every count).

EXTENSION POINT: consultation links (the consultations domain is now on main)
------------------------------------------------------------------------------
In one migration after 0003_feedback_changes:

1. add `LinkKind.CONSULTATION = "consultation"` and
   `LinkKind.CONSULTATION_ANSWER = "consultation_answer"` in models.py;
2. add nullable, indexed columns to `change_entry_links`:
   `consultation_id` INTEGER FK consultations.id ON DELETE CASCADE,
   `answer_id` VARCHAR(32) FK response_answers.id ON DELETE CASCADE (named answers) and
   `anonymous_answer_id` VARCHAR(32) FK anonymous_answers.id ON DELETE CASCADE, with unique
   constraints (entry_id, <column>) for each, and ORM backrefs with delete-orphan cascades like
   `ChangeLink.feedback` (SQLite does not enforce foreign keys);
3. replace the check constraints `ck_change_entry_links_kind_known` and
   `ck_change_entry_links_one_target` so that exactly the target column of each kind is set;
4. add a `LinkKindSpec` below for each kind (how to label and count it: "responses" for
   answers) and `link_consultation` / `link_consultation_answer` services like
   `link_feedback`, allowing only consultations whose results are published
   (ConsultationState.PUBLISHED) and answers whose quote consent allows quoting;
5. closing the loop: named responders of linked answers (consultation_responses.user_id) are
   found like `named_givers_for_entry`; anonymous answers are counted, never shown one by one.

Everything that counts or lists links (public pages, feeds, the measures) goes through
LINK_KINDS, so the new kinds appear there without further changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from engage.changes.models import LinkKind

SMALL_NUMBER = 5


@dataclass(frozen=True)
class LinkKindSpec:
    kind: LinkKind
    noun_one: str
    noun_many: str


LINK_KINDS: dict[str, LinkKindSpec] = {
    LinkKind.FEEDBACK: LinkKindSpec(LinkKind.FEEDBACK, "piece of feedback", "pieces of feedback"),
}


def count_text(count: int, spec: LinkKindSpec) -> str:
    """Counts under 5 are never shown exactly: a '1' could point at one person."""
    if count == 0:
        return f"No {spec.noun_many} linked yet"
    if count < SMALL_NUMBER:
        return f"Fewer than {SMALL_NUMBER} {spec.noun_many}"
    return f"{count} {spec.noun_many}"


def public_count(count: int) -> int | None:
    """The number for open data: null when it is between 1 and 4."""
    return None if 0 < count < SMALL_NUMBER else count
