"""What a 'you said, we did' entry links to, and the extension point for consultations.

Today: `LinkKind.FEEDBACK` rows in `change_entry_links` carry `feedback_id` (a real foreign key,
ON DELETE CASCADE, so withdrawn feedback disappears from every count).

EXTENSION POINT: consultation links (for the merge with the consultations branch)
--------------------------------------------------------------------------------
When consultations and consultation answers exist, in one migration:

1. add `LinkKind.CONSULTATION = "consultation"` and
   `LinkKind.CONSULTATION_ANSWER = "consultation_answer"` in models.py;
2. add nullable columns `consultation_id` (FK consultations.id, ON DELETE CASCADE) and
   `consultation_answer_id` (FK to the answers/responses table, ON DELETE CASCADE), each indexed,
   with unique constraints (entry_id, consultation_id) and (entry_id, consultation_answer_id);
3. replace the check constraints `ck_change_entry_links_kind_known` and
   `ck_change_entry_links_one_target` so that exactly the target column of each kind is set;
4. add a `LinkKindSpec` below for each kind (how to label and count it) and a `link_...`
   service in services.py like `link_feedback` (checking the consultation's results are
   published, and that anonymous answers are counted, never shown one by one);
5. notify: named responders of linked answers are found like `named_givers_for_entry`.

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
