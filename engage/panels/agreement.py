"""The involvement agreement every panel member reads and accepts when they apply.

When the wording changes, change the version too: each membership records the version the
person accepted and when.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

INVOLVEMENT_AGREEMENT_VERSION = "2026-11"

INVOLVEMENT_AGREEMENT_POINTS = [
    _l("You choose how much you share. You never have to talk about what happened to you."),
    _l("You can say no, take a break or leave at any time, without giving a reason."),
    _l("What members say in the panel stays in the panel, unless someone is at risk of serious "
       "harm. If that happens, we will talk to you first wherever we can."),
    _l("We will tell you what happens to what you said, and we only quote you publicly with your "
       "permission, credited the way you choose."),
    _l("We treat each other with respect, and we ask the same of you."),
    _l("Involvement is paid or expenses are covered in line with our payment policy; you can "
       "decline payments."),
]
