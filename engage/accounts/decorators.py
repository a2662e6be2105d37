"""View decorators for permission checks, shared by every domain's views."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from engage.core.permissions import Permission, can


def require(*permissions: Permission):
    """Signed in (else to the sign-in page) and holding one of the permissions (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not any(can(current_user, permission) for permission in permissions):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
