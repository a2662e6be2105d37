"""Demo data for `make run` (`flask engage seed-demo`): the demo accounts here, then one module
per domain, each seeding through that domain's own services. Safe to run twice: existing demo
records are left as they are. Not part of any domain: nothing in a domain imports it."""

from __future__ import annotations

import pyotp
from sqlalchemy import select

from engage.accounts.models import User, UserRole
from engage.accounts.passwords import hash_password
from engage.accounts.services import find_by_username, normalise_username
from engage.core import clock
from engage.core.permissions import Role
from engage.demo import changes as changes_demo
from engage.demo import consultations as consultations_demo
from engage.demo import equality as equality_demo
from engage.demo import events as events_demo
from engage.demo import panels as panels_demo
from engage.demo import payments as payments_demo
from engage.extensions import db

DEMO_PASSWORD = "engage-demo-passphrase"  # noqa: S105 - printed for local demos only

DEMO_PEOPLE = [
    ("demo-admin", "Alex (admin)", Role.ADMIN),
    ("demo-facilitator", "Sam (facilitator)", Role.FACILITATOR),
    ("demo-lead", "Priya (programme lead)", Role.PROGRAMME_LEAD),
    ("demo-lead2", "Jordan (programme lead)", Role.PROGRAMME_LEAD),
    ("demo-finance", "Chris (finance)", Role.FINANCE),
    ("demo-safeguarding", "Morgan (safeguarding lead)", Role.SAFEGUARDING_LEAD),
    ("demo-member", "River", Role.MEMBER),
    ("demo-member2", "Kit", Role.MEMBER),
]


def _ensure_person(username: str, display_name: str, role: Role) -> User:
    user = find_by_username(username)
    if user is not None:
        return user
    user = User(
        username=username,
        username_key=normalise_username(username),
        display_name=display_name,
        password_hash=hash_password(DEMO_PASSWORD),
    )
    user.roles.append(UserRole(role=role))
    if role != Role.MEMBER:
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = clock.now()
    db.session.add(user)
    db.session.flush()
    return user


def seed_demo() -> list[str]:
    people = [_ensure_person(*person) for person in DEMO_PEOPLE]
    db.session.commit()
    by_username = {user.username: user for user in people}
    domain_lines = [*panels_demo.seed(by_username), *consultations_demo.seed(by_username),
                    *events_demo.seed(by_username), *equality_demo.seed(by_username)]
    db.session.commit()
    change_lines = changes_demo.seed(by_username)
    lines = [
        "Demo accounts (all use the password: " + DEMO_PASSWORD + ")",
    ]
    for user in people:
        role = ", ".join(sorted(r.label for r in user.role_set))
        extra = ""
        if user.totp_secret:
            extra = f"  two-factor secret {user.totp_secret}"
        lines.append(f"  {user.username:<18} {role:<20}{extra}")
    if domain_lines:
        lines.append("Demo panels, consultations and events")
        lines.extend(domain_lines)
    lines.append(
        "Staff sign in with a two-factor code: add the secret to an authenticator app, or run "
        "`flask --app engage.wsgi engage demo-code USERNAME`."
    )
    payment_lines = payments_demo.seed({user.username: user for user in people})
    return lines + change_lines + payment_lines


def current_code(username: str) -> str | None:
    user = db.session.scalar(select(User).where(User.username_key == normalise_username(username)))
    if user is None or not user.totp_secret:
        return None
    return pyotp.TOTP(user.totp_secret).now()
