"""How a member of staff took something they entered on a person's behalf, with that person's
agreement: by phone, on paper, in an interview or another way.

Shared by anonymous feedback and consultation responses. The label is all an anonymous item
keeps about it: not who entered it, not when (beyond the day). Consent is not stored per row:
nothing is entered with a method unless the member of staff ticked that the person agreed.
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l

# The check constraint each table with an `entry_method` column carries.
ENTRY_METHOD_CHECK = ("entry_method IS NULL OR "
                      "entry_method IN ('phone', 'paper', 'interview', 'other')")


class EntryMethod(enum.StrEnum):
    PHONE = "phone"
    PAPER = "paper"
    INTERVIEW = "interview"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(ENTRY_METHOD_LABELS[self])


ENTRY_METHOD_LABELS = {
    EntryMethod.PHONE: _l("by phone"),
    EntryMethod.PAPER: _l("on paper"),
    EntryMethod.INTERVIEW: _l("in an interview"),
    EntryMethod.OTHER: _l("another way"),
}


# The same four, as the choices of a form's "How did the person give you ...?" question.
ENTRY_METHOD_CHOICES = [(EntryMethod.PHONE.value, _l("By phone")),
                        (EntryMethod.PAPER.value, _l("On paper")),
                        (EntryMethod.INTERVIEW.value, _l("In an interview")),
                        (EntryMethod.OTHER.value, _l("Another way"))]


def entry_method_or_none(value: str | None) -> EntryMethod | None:
    try:
        return EntryMethod(value or "")
    except ValueError:
        return None
