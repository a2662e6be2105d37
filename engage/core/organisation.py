"""Who runs this site and how to reach them, from the settings (ORGANISATION_*): shown on the
accessibility statement, the privacy notice and the cookies page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app


@dataclass(frozen=True)
class Organisation:
    name: str
    email: str
    phone: str
    address: str
    data_protection_email: str
    reply_working_days: int

    @property
    def has_contact(self) -> bool:
        return bool(self.email or self.phone or self.address)


def organisation() -> Organisation:
    config = current_app.config
    email = config.get("ORGANISATION_EMAIL", "").strip()
    return Organisation(
        name=config["ORGANISATION_NAME"],
        email=email,
        phone=config.get("ORGANISATION_PHONE", "").strip(),
        address=config.get("ORGANISATION_ADDRESS", "").strip(),
        data_protection_email=config.get("DATA_PROTECTION_EMAIL", "").strip() or email,
        reply_working_days=int(config.get("CONTACT_REPLY_WORKING_DAYS", 10)),
    )


def setting_date(name: str) -> date | None:
    """A date setting written YYYY-MM-DD, or None when it is empty or not a date."""
    try:
        return date.fromisoformat(current_app.config.get(name, "").strip())
    except ValueError:
        return None
