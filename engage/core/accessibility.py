"""What the accessibility statement says is not yet accessible. Keep this list true: add to it
when something is found, and take an item off when it is fixed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from engage.core.organisation import setting_date

DEFAULT_STATEMENT_DATE = date(2026, 12, 5)


@dataclass(frozen=True)
class KnownProblem:
    summary: str  # for "how accessible this website is"
    detail: str  # for "non-accessible content"
    criterion: str | None  # the WCAG success criterion it fails; None: outside the regulations


KNOWN_PROBLEMS = (
    KnownProblem(
        _l("if you are signed in and leave the website alone for a while, you are signed out "
           "without a warning first"),
        _l("To keep accounts safe, a signed-in person who does nothing for 30 minutes (staff) "
           "or 2 hours (members) is signed out without being warned or offered more time, and "
           "anything typed but not yet saved is lost. Consultation answers can be saved part "
           "of the way through to avoid this."),
        "2.2.1 (Timing adjustable)"),
    KnownProblem(
        _l("receipts and other files people upload may not be accessible"),
        _l("Receipts and other files people upload (photos and PDF files) are shown as they "
           "were sent. We cannot make them accessible, but the amounts and details that matter "
           "are always typed into the claim as well."),
        None),
    KnownProblem(
        _l("setting up bank transfers happens on our payment provider's pages"),
        _l("Connecting a bank account for payments happens on pages run by our payment "
           "provider, Stripe, which we do not control. You can choose to be paid another way."),
        None),
)


@dataclass(frozen=True)
class StatementDates:
    prepared: date
    reviewed: date
    tested: date


def statement_dates() -> StatementDates:
    def setting(name: str) -> date:
        return setting_date(name) or DEFAULT_STATEMENT_DATE

    return StatementDates(prepared=setting("ACCESSIBILITY_STATEMENT_PREPARED_ON"),
                          reviewed=setting("ACCESSIBILITY_LAST_REVIEWED_ON"),
                          tested=setting("ACCESSIBILITY_LAST_TESTED_ON"))
