"""Account use cases. Services add and flush; the caller commits once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from engage.accounts.models import (
    GrantOutcome,
    RecoveryCode,
    RoleGrantRequest,
    StaffInvitation,
    User,
    UserRole,
    UserSession,
)
from engage.accounts.passwords import burn_time, hash_password, password_problem, verify_password
from engage.core import audit, clock, wiring
from engage.core.crypto import keyed_hash
from engage.core.notify import Message, notify, queue_email
from engage.core.page_cache import KeptCopies
from engage.core.permissions import ROLE_LABELS, Role
from engage.core.personal_data import close_all, export_all
from engage.core.unit_of_work import atomic
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.extensions import db

RECOVERY_CODE_COUNT = 10
TOTP_ISSUER = "Engage"


def normalise_username(username: str) -> str:
    return username.strip().lower()


def find_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username_key == normalise_username(username)))


def username_taken(username: str) -> bool:
    return find_by_username(username) is not None


# --- registration and recovery codes -------------------------------------------------------


@dataclass
class NewAccount:
    user: User
    recovery_codes: list[str]


@atomic
def register_member(
    *, username: str, display_name: str, password: str, email: str | None
) -> NewAccount:
    _check_new_credentials(username, password)
    user = User(
        username=username.strip(),
        username_key=normalise_username(username),
        display_name=display_name.strip(),
        email=(email or "").strip() or None,
        password_hash=hash_password(password),
    )
    user.roles.append(UserRole(role=Role.MEMBER))
    db.session.add(user)
    db.session.flush()
    codes = [] if user.email else issue_recovery_codes(user)
    audit.record("account.registered", actor_id=user.id, subject_type="user", subject_id=user.id)
    return NewAccount(user=user, recovery_codes=codes)


def _check_new_credentials(username: str, password: str) -> None:
    """The password first: whether a username is taken is said only once everything else on
    the form is right, so the form cannot be used to test names for free (it is throttled
    too)."""
    problem = password_problem(password, username)
    if problem:
        raise ValidationFailed(problem)
    if username_taken(username):
        raise ValidationFailed("That username is already in use. Please choose another.")


def _new_recovery_code() -> str:
    raw = secrets.token_hex(5).upper()  # 40 bits, single use, throttled
    return f"{raw[:5]}-{raw[5:]}"


def _recovery_hash(code: str) -> str:
    return keyed_hash("recovery-code", code.replace("-", "").replace(" ", "").upper())


def issue_recovery_codes(user: User) -> list[str]:
    """Replace any unused codes with a fresh set; the plain codes are shown once."""
    for old in list(user.recovery_codes):
        user.recovery_codes.remove(old)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        user.recovery_codes.append(RecoveryCode(code_hash=_recovery_hash(code)))
    db.session.flush()
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Uses one of the person's unused codes, if `code` is one. The code is claimed with one
    conditional UPDATE, so two requests bringing the same code at the same moment cannot both
    use it: on PostgreSQL the second waits for the first and then finds it used."""
    wanted = _recovery_hash(code)
    for candidate in user.recovery_codes:
        if candidate.used_at is None and secrets.compare_digest(candidate.code_hash, wanted):
            return _claim(candidate)
    return False


def _claim(recovery_code: RecoveryCode) -> bool:
    now = clock.now()
    claimed = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == recovery_code.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return False
    set_committed_value(recovery_code, "used_at", now)
    return True


def _unused_codes(owner_id):
    return (select(func.count()).select_from(RecoveryCode)
            .where(RecoveryCode.user_id == owner_id, RecoveryCode.used_at.is_(None)))


UNUSED_RECOVERY_CODES = _unused_codes(bindparam("user_id"))


def unused_recovery_codes_column():
    """The same count as a scalar subquery of the person's row: the account page has it read
    with the signed-in person (wiring.read_with_person), in the same query."""
    return _unused_codes(User.id).correlate(User).scalar_subquery()


def unused_recovery_code_count(user: User) -> int:
    """Counted by the database, on the connection: a plain count needs none of the ORM's work
    for objects."""
    return db.session.connection().execute(UNUSED_RECOVERY_CODES,
                                           {"user_id": user.id}).scalar_one()


def own_recovery_codes_left(user: User) -> int:
    """For the signed-in person's own account page: the count read with them in this request
    (init_app registers it with wiring.read_with_person), else counted now."""
    return wiring.read_with_the_person("recovery_left",
                                       lambda: unused_recovery_code_count(user))


@atomic
def reset_password_with_recovery_code(username: str, code: str, new_password: str) -> User:
    user = find_by_username(username)
    if user is None or user.is_disabled or not use_recovery_code(user, code):
        raise ValidationFailed(
            "We could not match that username and recovery code. Check both and try again."
        )
    set_password(user, new_password)
    audit.record("account.recovered_with_code", actor_id=user.id, subject_type="user",
                 subject_id=user.id)
    return user


# --- signing in ----------------------------------------------------------------------------


def authenticate(username: str, password: str) -> User | None:
    """The user for these credentials, or None. Never says which part was wrong."""
    user = find_by_username(username)
    if user is None:
        burn_time(password)
        audit.record("auth.sign_in_failed", reason="unknown_account")
        return None
    if not verify_password(user.password_hash, password) or user.is_disabled:
        audit.record("auth.sign_in_failed", subject_type="user", subject_id=user.id)
        return None
    return user


def record_sign_in(user: User) -> None:
    user.last_sign_in_at = clock.now()
    audit.record("auth.signed_in", actor_id=user.id, subject_type="user", subject_id=user.id)


# --- server-side sessions ------------------------------------------------------------------


def _session_key(token: str) -> str:
    return keyed_hash("user-session", token)


def open_session(user: User) -> str:
    """A new signed-in session: returns the token for the session cookie; only its keyed hash
    is stored."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=_session_key(token), user_id=user.id))
    db.session.flush()
    return token


KEPT_SESSION_KEYS = 4096  # per process, as many as the kept cookies (engage/core/sessions.py)
_SESSION_KEYS: KeptCopies[str] = KeptCopies(KEPT_SESSION_KEYS)


def session_key(token: str | None) -> str | None:
    """The stored key of the cookie's session token, worked out once per token and secret
    in this process (every signed-in request asks; the process holds the cookies it has
    checked already, engage/core/sessions.py)."""
    if not token:
        return None
    kept = (current_app.config["SECRET_KEY"], token)
    key = _SESSION_KEYS.get(kept)
    if key is None:
        key = _session_key(token)
        _SESSION_KEYS.put(kept, key)
    return key


def end_session(token: str | None) -> None:
    """Signing out: the cookie's session stops working everywhere it was copied to."""
    if token:
        db.session.execute(delete(UserSession).where(UserSession.id == _session_key(token)))


def end_all_sessions(user: User, *, keep: str | None = None) -> None:
    condition = [UserSession.user_id == user.id]
    if keep:
        condition.append(UserSession.id != _session_key(keep))
    db.session.execute(delete(UserSession).where(*condition))


def purge_old_sessions() -> int:
    """Sessions past the longest absolute time-out can never be used again (the worker)."""
    config = current_app.config
    longest = max(config["STAFF_ABSOLUTE_TIMEOUT"], config["MEMBER_ABSOLUTE_TIMEOUT"])
    result = db.session.execute(delete(UserSession).where(
        UserSession.started_at < clock.now() - longest))
    return result.rowcount or 0


def set_password(user: User, new_password: str) -> None:
    problem = password_problem(new_password, user.username)
    if problem:
        raise ValidationFailed(problem)
    user.password_hash = hash_password(new_password)
    user.session_version += 1  # a new password ends every other session
    end_all_sessions(user)


@atomic
def change_password(user: User, current_password: str, new_password: str) -> None:
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed("Your current password was not right. Please try again.")
    set_password(user, new_password)
    audit.record("account.password_changed", actor_id=user.id, subject_type="user",
                 subject_id=user.id)


def sign_out_everywhere(user: User) -> None:
    user.session_version += 1
    end_all_sessions(user)
    audit.record("auth.signed_out_everywhere", actor_id=user.id, subject_type="user",
                 subject_id=user.id)


# --- password reset by email ---------------------------------------------------------------


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _password_fingerprint(user: User) -> str:
    return keyed_hash("reset-fingerprint", user.password_hash)[:16]


def make_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"u": user.id, "f": _password_fingerprint(user)})


def request_password_reset(email: str) -> None:
    """Queue a reset link to every account with this address whose owner marked it safe to
    email. Silent either way: the page says the same whether or not anything was sent."""
    wanted = email.strip().lower()
    if not wanted:
        return
    users = db.session.scalars(
        select(User).where(func.lower(User.email) == wanted, User.is_disabled.is_(False),
                           User.email_is_safe.is_(True))
    ).all()
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    for user in users:
        link = f"{base}/account/reset/{make_reset_token(user)}"
        queue_email(
            user.email or "",
            "Your requested link",
            "Hello,\n\nSomeone (we hope you) asked to set a new password. Use this link within "
            f"an hour:\n{link}\n\nIf it was not you, you can ignore this email: nothing changes.\n",
            user_id=user.id,
        )


def user_for_reset_token(token: str) -> User:
    max_age = int(current_app.config["PASSWORD_RESET_MAX_AGE"].total_seconds())
    try:
        data = _reset_serializer().loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidState("This link has expired. Please ask for a new one.") from exc
    except BadSignature as exc:
        raise InvalidState("This link is not valid. Please ask for a new one.") from exc
    user = db.session.get(User, data.get("u"))
    if user is None or user.is_disabled or data.get("f") != _password_fingerprint(user):
        raise InvalidState("This link has already been used. Please ask for a new one.")
    return user


@atomic
def reset_password(token: str, new_password: str) -> User:
    user = user_for_reset_token(token)
    set_password(user, new_password)
    audit.record("account.password_reset", actor_id=user.id, subject_type="user",
                 subject_id=user.id)
    return user


# --- two-factor ----------------------------------------------------------------------------


def start_two_factor(user: User) -> str:
    if user.has_two_factor:
        raise InvalidState("Two-factor authentication is already set up.")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(
        name=user.username, issuer_name=current_app.config.get("SITE_NAME", TOTP_ISSUER)
    )


def _matching_counter(secret: str, code: str) -> int | None:
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(clock.now())
    for counter in (current - 1, current, current + 1):
        if secrets.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def verify_totp(user: User, code: str) -> bool:
    """A code is accepted once: a replayed code (same or older time step) is refused."""
    if not user.totp_secret:
        return False
    counter = _matching_counter(user.totp_secret, code)
    if counter is None:
        return False
    if user.totp_last_counter is not None and counter <= user.totp_last_counter:
        return False
    user.totp_last_counter = counter
    return True


@atomic
def confirm_two_factor(user: User, code: str) -> list[str]:
    if not verify_totp(user, code):
        raise ValidationFailed(
            "That code did not work. Check the time on your phone is right and enter the "
            "newest 6-digit code."
        )
    user.totp_confirmed_at = clock.now()
    audit.record("auth.two_factor_enabled", actor_id=user.id, subject_type="user",
                 subject_id=user.id)
    return issue_recovery_codes(user)


def second_factor_ok(user: User, code: str) -> bool:
    """A current TOTP code, or one unused recovery code (for a lost device)."""
    if verify_totp(user, code):
        return True
    looks_like_recovery_code = "-" in code or len(code.strip()) == 10
    if looks_like_recovery_code and use_recovery_code(user, code):
        audit.record("auth.recovery_code_used", actor_id=user.id, subject_type="user",
                     subject_id=user.id)
        return True
    return False


# --- staff invitations and roles -----------------------------------------------------------


@dataclass
class Invitation:
    invitation: StaffInvitation
    token: str


def invite_staff(actor: User, *, role: Role, display_name: str, email: str | None) -> Invitation:
    """An invitation to a powerful role works only once a second admin approves it."""
    if role == Role.MEMBER:
        raise ValidationFailed("Members register themselves; invitations are for staff roles.")
    token = secrets.token_urlsafe(32)
    invitation = StaffInvitation(
        token_hash=keyed_hash("staff-invitation", token),
        role=role,
        display_name=display_name.strip(),
        email=(email or "").strip() or None,
        created_by_id=actor.id,
        expires_at=clock.now() + current_app.config["INVITATION_MAX_AGE"],
        approved=role not in POWERFUL_ROLES,
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record("staff.invited", actor_id=actor.id, subject_type="staff_invitation",
                 subject_id=invitation.id, role=str(role))
    if not invitation.approved:
        _ask_a_second_admin(actor, role, invitation=invitation)
    if invitation.email:
        base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
        queue_email(
            invitation.email,
            "Your invitation",
            f"Hello {invitation.display_name},\n\nYou have been invited to join as staff. "
            f"Use this link within 7 days to choose your username and password:\n"
            f"{base}/staff/join/{token}\n",
        )
    return Invitation(invitation=invitation, token=token)


def invitation_for_token(token: str) -> StaffInvitation:
    invitation = db.session.scalar(
        select(StaffInvitation).where(
            StaffInvitation.token_hash == keyed_hash("staff-invitation", token)
        )
    )
    if (invitation is not None and not invitation.approved and invitation.revoked_at is None
            and invitation.expires_at > clock.now()):
        raise InvalidState(
            "This invitation is waiting for a second admin to approve it. Please try the link "
            "again later, or ask the person who invited you."
        )
    if invitation is None or not invitation.is_usable:
        raise InvalidState(
            "This invitation link has expired or has already been used. Please ask the "
            "person who invited you for a new one."
        )
    return invitation


@atomic
def accept_invitation(token: str, *, username: str, password: str) -> User:
    invitation = invitation_for_token(token)
    _check_new_credentials(username, password)
    user = User(
        username=username.strip(),
        username_key=normalise_username(username),
        display_name=invitation.display_name,
        email=invitation.email,
        password_hash=hash_password(password),
    )
    user.roles.append(UserRole(role=invitation.role, granted_by_id=invitation.created_by_id))
    db.session.add(user)
    db.session.flush()
    invitation.accepted_at = clock.now()
    invitation.accepted_user_id = user.id
    audit.record("staff.joined", actor_id=user.id, subject_type="user", subject_id=user.id,
                 role=invitation.role)
    return user


# Roles that move money, publish in the organisation's name or hand out roles: granting one
# takes two admins, so no single admin can give themselves (or an account they control) power.
POWERFUL_ROLES = frozenset({Role.ADMIN, Role.FINANCE, Role.PROGRAMME_LEAD})


@atomic
def set_roles(actor: User, user: User, roles: set[Role]) -> list[RoleGrantRequest]:
    """Change a person's roles. Removing a role, or granting an everyday one, happens at once;
    a powerful role waits for a second admin (returned). Nobody grants roles to themselves."""
    before = user.role_set
    if actor.id == user.id and Role.ADMIN not in roles:
        raise NotAllowed("You cannot remove your own admin role. Ask another admin.")
    if actor.id == user.id and roles - before:
        raise NotAllowed("You cannot give yourself a role. Ask another admin.")
    for existing in list(user.roles):
        if Role(existing.role) not in roles:
            user.roles.remove(existing)
    waiting = []
    for role in sorted(roles - before):
        if role in POWERFUL_ROLES:
            request = _pending_for_user(user, role) or _ask_a_second_admin(actor, role,
                                                                           user=user)
            waiting.append(request)
        else:
            user.roles.append(UserRole(role=role, granted_by_id=actor.id))
    after = user.role_set
    if before != after:
        user.session_version += 1
        audit.record("staff.roles_changed", actor_id=actor.id, subject_type="user",
                     subject_id=user.id, before=sorted(before), after=sorted(after))
    return waiting


def _pending_for_user(user: User, role: Role) -> RoleGrantRequest | None:
    return db.session.scalar(select(RoleGrantRequest).where(
        RoleGrantRequest.user_id == user.id, RoleGrantRequest.role == str(role),
        RoleGrantRequest.outcome.is_(None)))


def _admins() -> list[User]:
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == str(Role.ADMIN), User.is_disabled.is_(False))
        .order_by(User.id)))


def _ask_a_second_admin(actor: User, role: Role, *, user: User | None = None,
                        invitation: StaffInvitation | None = None) -> RoleGrantRequest:
    request = RoleGrantRequest(role=str(role), user_id=user.id if user else None,
                               invitation_id=invitation.id if invitation else None,
                               requested_by_id=actor.id)
    db.session.add(request)
    db.session.flush()
    audit.record("staff.role_grant_requested", actor_id=actor.id,
                 subject_type="user" if user else "staff_invitation",
                 subject_id=user.id if user else invitation.id, role=str(role),
                 request_id=request.id)
    for admin in _admins():
        if admin.id != actor.id:
            notify(admin, Message(
                "A role change needs a second admin",
                f"{actor.display_name} has asked to give the role "
                f"'{ROLE_LABELS[role]}' to {request.target_name}. It takes effect only "
                "when another admin approves it.", "/admin/approvals"),
                dedupe_key=f"role-grant-{request.id}-{admin.id}")
    return request


def pending_grants() -> list[RoleGrantRequest]:
    return list(db.session.scalars(select(RoleGrantRequest).where(
        RoleGrantRequest.outcome.is_(None)).order_by(RoleGrantRequest.requested_at,
                                                     RoleGrantRequest.id)))


def pending_grants_for(user: User) -> list[RoleGrantRequest]:
    return [r for r in pending_grants() if r.user_id == user.id]


def may_approve(actor: User, request: RoleGrantRequest) -> bool:
    """A second admin: not the one who asked, and not the person who would receive it."""
    return (actor.has_role(Role.ADMIN) and request.is_pending
            and actor.id != request.requested_by_id and actor.id != request.user_id)


def _pending_request(request_id: int) -> RoleGrantRequest:
    request = db.session.get(RoleGrantRequest, request_id)
    if request is None:
        raise NotFound()
    if not request.is_pending:
        raise InvalidState("This request has already been decided.")
    return request


def approve_grant(actor: User, request_id: int) -> RoleGrantRequest:
    request = _pending_request(request_id)
    if not may_approve(actor, request):
        raise NotAllowed("A second admin must approve this: not the admin who asked for it, "
                         "and not the person who would receive the role.")
    _decide(actor, request, GrantOutcome.APPROVED)
    if request.user is not None:
        user = request.user
        if Role(request.role) not in user.role_set:
            user.roles.append(UserRole(role=request.role, granted_by_id=request.requested_by_id))
            user.session_version += 1
    elif request.invitation is not None:
        request.invitation.approved = True
    return request


def decline_grant(actor: User, request_id: int) -> RoleGrantRequest:
    """Another admin declines; the admin who asked can take the request back."""
    request = _pending_request(request_id)
    if not actor.has_role(Role.ADMIN):
        raise NotAllowed()
    own = actor.id == request.requested_by_id
    _decide(actor, request, GrantOutcome.CANCELLED if own else GrantOutcome.DECLINED)
    if request.invitation is not None:
        request.invitation.revoked_at = clock.now()
    return request


def _decide(actor: User, request: RoleGrantRequest, outcome: str) -> None:
    result = db.session.execute(
        update(RoleGrantRequest)
        .where(RoleGrantRequest.id == request.id, RoleGrantRequest.outcome.is_(None))
        .values(outcome=outcome, decided_by_id=actor.id, decided_at=clock.now())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise InvalidState("This request has already been decided.")
    db.session.refresh(request)
    audit.record(f"staff.role_grant_{outcome}", actor_id=actor.id,
                 subject_type="user" if request.user_id else "staff_invitation",
                 subject_id=request.user_id or request.invitation_id, role=request.role,
                 request_id=request.id, requested_by=request.requested_by_id)
    if request.requested_by is not None and request.requested_by_id != actor.id:
        notify(request.requested_by, Message(
            "A role change you asked for was decided",
            f"The role '{ROLE_LABELS[Role(request.role)]}' for {request.target_name} was "
            f"{outcome}.", "/admin/approvals"),
            dedupe_key=f"role-grant-decided-{request.id}")


@atomic
def set_disabled(actor: User, user: User, disabled: bool) -> None:
    if actor.id == user.id:
        raise NotAllowed("You cannot disable your own account.")
    user.is_disabled = disabled
    user.session_version += 1
    end_all_sessions(user)
    audit.record("account.disabled" if disabled else "account.enabled", actor_id=actor.id,
                 subject_type="user", subject_id=user.id)


def create_admin(*, username: str, display_name: str, password: str,
                 email: str | None = None) -> User:
    _check_new_credentials(username, password)
    user = User(
        username=username.strip(),
        username_key=normalise_username(username),
        display_name=display_name.strip(),
        email=email,
        password_hash=hash_password(password),
    )
    user.roles.append(UserRole(role=Role.ADMIN))
    db.session.add(user)
    db.session.flush()
    audit.record("staff.admin_created", subject_type="user", subject_id=user.id)
    return user


# --- contact preferences -------------------------------------------------------------------


def update_contact_preferences(
    user: User, *, email: str | None, email_is_safe: bool, discreet_mode: bool
) -> None:
    user.email = (email or "").strip() or None
    user.email_is_safe = bool(user.email) and email_is_safe
    user.discreet_mode = discreet_mode


def staff_session_limits() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return config["STAFF_IDLE_TIMEOUT"], config["STAFF_ABSOLUTE_TIMEOUT"]


# --- own data ------------------------------------------------------------------------------


def export_own_data(user: User) -> dict:
    audit.record("account.data_exported", actor_id=user.id, subject_type="user",
                 subject_id=user.id)
    return {
        "about": "Everything Engage holds about you, exported at your request.",
        "exported_at": clock.now().isoformat(),
        "data": export_all(user),
    }


@atomic
def close_account(user: User, password: str, *, keep_contributions: bool = False) -> None:
    if not verify_password(user.password_hash, password):
        raise ValidationFailed("Your password was not right, so your account is still open.")
    audit.record("account.closed", actor_id=user.id, subject_type="user", subject_id=user.id,
                 contributions="kept_anonymously" if keep_contributions else "deleted")
    close_all(user, keep_contributions=keep_contributions)
