"""Factories with sensible defaults. Each returns a flushed object; tests commit if needed."""

from __future__ import annotations

import itertools

import pyotp

from engage.accounts.models import User, UserRole
from engage.accounts.passwords import hash_password
from engage.accounts.services import normalise_username
from engage.core import clock
from engage.core.permissions import Role
from engage.extensions import db

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def make_user(
    *,
    username: str | None = None,
    display_name: str | None = None,
    roles: tuple[Role, ...] = (Role.MEMBER,),
    password: str = PASSWORD,
    email: str | None = None,
    email_is_safe: bool = False,
    discreet_mode: bool = True,
    two_factor: bool | None = None,
) -> User:
    n = next(_counter)
    username = username or f"person{n}"
    user = User(
        username=username,
        username_key=normalise_username(username),
        display_name=display_name or f"Person {n}",
        email=email,
        email_is_safe=email_is_safe,
        discreet_mode=discreet_mode,
        password_hash=hash_password(password),
    )
    for role in roles:
        user.roles.append(UserRole(role=role))
    staff = any(role != Role.MEMBER for role in roles)
    if two_factor if two_factor is not None else staff:
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = clock.now()
    db.session.add(user)
    db.session.flush()
    return user


def make_member(**kwargs) -> User:
    return make_user(roles=(Role.MEMBER,), **kwargs)


def make_staff(role: Role, **kwargs) -> User:
    return make_user(roles=(role,), **kwargs)


def totp_now(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).at(clock.now())


def sign_in(browser_like, user: User, password: str = PASSWORD):
    """Sign in through the real pages, including the two-factor step for staff."""
    response = browser_like.post(
        "/sign-in", {"username": user.username, "password": password}
    )
    if response.status_code == 302 and response.headers["Location"].endswith(
        "/sign-in/two-factor"
    ):
        response = browser_like.post("/sign-in/two-factor", {"code": totp_now(user)})
    return response
