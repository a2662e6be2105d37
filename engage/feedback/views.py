"""Feedback pages: give feedback, check it by code, a member's named feedback, staff triage and
the safeguarding queue.

The anonymous routes keep nothing about the visitor: no flash messages and no session CSRF (both
would set a session cookie), results are rendered straight from the POST (the code is never put
in a URL), and rate limits count in memory under a daily-rotating hash.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engage.accounts.decorators import require
from engage.core import page_cache
from engage.core.permissions import Permission
from engage.errors import DomainError, NotFound
from engage.extensions import csrf, db, limiter
from engage.feedback import services, throttle
from engage.feedback.anonymous import check_anonymous_post, form_token
from engage.feedback.forms import (
    ActionForm,
    CheckCodeForm,
    CloseForm,
    CodeActionForm,
    GiveFeedbackForm,
    OnBehalfForm,
    QuoteForm,
    ReplyForm,
    ThemesForm,
)
from engage.feedback.models import MAX_FEEDBACK_LENGTH, FeedbackItem, FeedbackStatus

bp = Blueprint("feedback", __name__)
# The give-feedback form is never cached: its form token carries a one-time nonce from which
# the feedback code is derived, so a shared copy would give two visitors one code.

GIVE_FORM = "give-feedback"
ON_BEHALF_FORM = "feedback-on-behalf"
CHECK_FORM = "check-feedback"


def _give_limit() -> str:
    return current_app.config["FEEDBACK_GIVE_LIMIT"]


def _protect_post(form_name: str) -> str:
    if current_user.is_authenticated:
        csrf.protect()
    return check_anonymous_post(form_name)


# --- giving feedback --------------------------------------------------------------------------


@bp.route("/feedback", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit(_give_limit, methods=["POST"])
def give():
    form = GiveFeedbackForm()
    form.topic.choices = [("", "Choose a topic (optional)")] + [(t, t) for t in services.topics()]
    if request.method == "POST":
        page_nonce = _protect_post(GIVE_FORM)
        if form.website.data:
            form.website.errors = ["Please leave this field empty. It is there to catch "
                                   "automated spam."]
        elif form.validate():
            try:
                given = services.give_feedback(
                    current_user, body=form.body.data, topic=form.topic.data or None,
                    may_quote=form.may_quote.data == "yes",
                    attach_name=form.attach_name.data == "named", page_nonce=page_nonce)
            except DomainError as error:
                form.body.errors = [*form.body.errors, error.message]
            else:
                return render_template("feedback/given.html", code=given.code,
                                       repeated=given.repeated,
                                       named=form.attach_name.data == "named"
                                       and current_user.is_authenticated)
    # Signed out, this page is kept (feedback/__init__.py) with a new token in every copy.
    form.form_token.data = page_cache.fresh_value("form_token", form_token(GIVE_FORM))
    return render_template("feedback/give.html", form=form, max_length=MAX_FEEDBACK_LENGTH)


# --- checking feedback with its code ----------------------------------------------------------


def _status_page(item: FeedbackItem, code: str, notice: str | None = None):
    changes = services.linked_changes(item)
    return render_template(
        "feedback/status.html", item=item, replies=item.replies, changes=changes,
        status_label=services.giver_status_label(item, changes),
        change_in_preparation=item.status == FeedbackStatus.LINKED and not changes,
        code=code, notice=notice, token=form_token(CHECK_FORM))


def _item_for_code(code: str | None) -> FeedbackItem | None:
    item = services.find_by_code(code or "")
    if item is None:
        throttle.count_wrong_code()
    return item


@bp.route("/feedback/check", methods=["GET", "POST"])
@csrf.exempt
@throttle.limit_wrong_codes()
def check():
    form = CheckCodeForm()
    if request.method == "POST":
        check_anonymous_post(CHECK_FORM)
        if form.validate():
            item = _item_for_code(form.code.data)
            if item is not None:
                return _status_page(item, form.code.data)
            form.code.errors = [services.WRONG_CODE]
        else:
            throttle.count_wrong_code()
    form.form_token.data = form_token(CHECK_FORM)
    return render_template("feedback/check.html", form=form)


@bp.post("/feedback/check/delete-replies")
@csrf.exempt
@throttle.limit_wrong_codes()
def delete_replies():
    check_anonymous_post(CHECK_FORM)
    form = CodeActionForm()
    item = _item_for_code(form.code.data)
    if item is None:
        raise NotFound("We could not find feedback with that code.")
    count = services.delete_replies_by_giver(item)
    notice = "The replies have been deleted." if count else "There were no replies to delete."
    return _status_page(item, form.code.data, notice)


@bp.post("/feedback/check/withdraw")
@csrf.exempt
@throttle.limit_wrong_codes()
def withdraw():
    check_anonymous_post(CHECK_FORM)
    form = CodeActionForm()
    item = _item_for_code(form.code.data)
    if item is None:
        raise NotFound("We could not find feedback with that code.")
    if form.confirmed.data != "yes":
        return render_template("feedback/withdraw.html", item=item, code=form.code.data,
                               token=form_token(CHECK_FORM))
    services.withdraw_feedback(item)
    return render_template("feedback/withdrawn.html")


# --- a member's named feedback ----------------------------------------------------------------


@bp.get("/feedback/yours")
@login_required
def yours():
    items = services.feedback_of_member(current_user)
    labels = {item.id: services.giver_status_label(item, services.linked_changes(item))
              for item in items}
    return render_template("feedback/yours.html", items=items, labels=labels)


@bp.get("/feedback/yours/<int:feedback_id>")
@login_required
def your_item(feedback_id: int):
    item = services.member_feedback(current_user, feedback_id)
    changes = services.linked_changes(item)
    return render_template("feedback/your_item.html", item=item, replies=item.replies,
                           changes=changes,
                           status_label=services.giver_status_label(item, changes),
                           change_in_preparation=item.status == FeedbackStatus.LINKED
                           and not changes)


# --- staff entering feedback on someone's behalf ------------------------------------------------


def _topic_choices() -> list[tuple[str, str]]:
    return [("", _("Choose a topic (optional)"))] + [(t, t) for t in services.topics()]


@bp.route("/staff/feedback/on-behalf", methods=["GET", "POST"])
@require(Permission.TRIAGE_FEEDBACK)
def on_behalf():
    """Like /feedback, for a person who gave their feedback by phone, on paper or in an
    interview. The result is rendered straight from the POST, so the code is never in a URL,
    a flash message or a log."""
    form = OnBehalfForm()
    form.topic.choices = _topic_choices()
    if form.validate_on_submit():
        page_nonce = check_anonymous_post(ON_BEHALF_FORM)
        try:
            given = services.give_feedback_on_behalf(
                current_user, method=form.method.data, consented=form.consent.data,
                body=form.body.data, topic=form.topic.data or None,
                may_quote=form.may_quote.data == "yes", page_nonce=page_nonce)
        except DomainError as error:
            form.body.errors = [*form.body.errors, error.message]
        else:
            return render_template("feedback/on_behalf_given.html", code=given.code,
                                   repeated=given.repeated, item=given.item)
    form.form_token.data = form_token(ON_BEHALF_FORM)
    status = 400 if form.errors else 200
    return render_template("feedback/on_behalf.html", form=form,
                           max_length=MAX_FEEDBACK_LENGTH), status


# --- staff triage -----------------------------------------------------------------------------


def _load(feedback_id: int) -> FeedbackItem:
    item = db.session.get(FeedbackItem, feedback_id)
    if item is None:
        raise NotFound()
    return item


@bp.get("/staff/feedback")
@require(Permission.TRIAGE_FEEDBACK)
def queue():
    status = request.args.get("status") or None
    topic = request.args.get("topic") or None
    theme_id = request.args.get("theme", type=int)
    oldest = request.args.get("order") == "oldest"
    page = services.triage_queue(status=status, topic=topic, theme_id=theme_id,
                                 oldest_first=oldest, after=request.args.get("after"))
    return render_template(
        "feedback/queue.html", page=page, statuses=list(FeedbackStatus),
        topics=services.topics(), themes=services.all_themes(),
        chosen={"status": status or "", "topic": topic or "", "theme": theme_id or 0,
                "order": "oldest" if oldest else "newest"})


def _item_page(item: FeedbackItem, **forms):
    forms.setdefault("reply_form", ReplyForm(prefix="reply"))
    forms.setdefault("close_form", CloseForm(prefix="close"))
    forms.setdefault("themes_form", ThemesForm(
        prefix="themes", data={"themes": ", ".join(t.name for t in item.themes)}))
    forms.setdefault("quote_form", QuoteForm(prefix="quote", data={"quote": item.quote or ""}))
    return render_template("feedback/item.html", item=item, giver=services.named_giver(item),
                           action_form=ActionForm(), changes=services.linked_changes(item),
                           **forms)


@bp.get("/staff/feedback/<int:feedback_id>")
@require(Permission.TRIAGE_FEEDBACK)
def item(feedback_id: int):
    return _item_page(_load(feedback_id))


def _after_action(item: FeedbackItem):
    return redirect(url_for("feedback.item", feedback_id=item.id))


def _button_action(item: FeedbackItem, action, done: str):
    """A button on the item's page: do it and say so, or say why it could not be done."""
    if not ActionForm().validate_on_submit():
        flash(_("The page had expired, so nothing was changed. Please try again."), "error")
        return _after_action(item)
    try:
        action(current_user, item)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(done, "success")
    return _after_action(item)


def _form_action(item: FeedbackItem, form, form_name: str, field, action, done: str):
    """A form on the item's page: on success say what happened; otherwise show the page again
    with the problem (on `field`) and everything that was typed."""
    if form.validate_on_submit():
        try:
            action()
        except DomainError as error:
            field.errors = [error.message]
        else:
            flash(done, "success")
            return _after_action(item)
    return _item_page(item, **{form_name: form}), 400


@bp.post("/staff/feedback/<int:feedback_id>/acknowledge")
@require(Permission.TRIAGE_FEEDBACK)
def acknowledge(feedback_id: int):
    return _button_action(_load(feedback_id), services.acknowledge_feedback,
                          _("Marked as read. The person now sees 'Read by our team'."))


@bp.post("/staff/feedback/<int:feedback_id>/reopen")
@require(Permission.TRIAGE_FEEDBACK)
def reopen(feedback_id: int):
    return _button_action(_load(feedback_id), services.reopen_feedback,
                          _("The feedback is open again."))


@bp.post("/staff/feedback/<int:feedback_id>/close")
@require(Permission.TRIAGE_FEEDBACK)
def close(feedback_id: int):
    item = _load(feedback_id)
    form = CloseForm(prefix="close")
    return _form_action(
        item, form, "close_form", form.reason,
        lambda: services.close_feedback(current_user, item, form.reason.data),
        _("The feedback is closed. The person can see your reason."))


@bp.post("/staff/feedback/<int:feedback_id>/reply")
@require(Permission.TRIAGE_FEEDBACK)
def reply(feedback_id: int):
    item = _load(feedback_id)
    form = ReplyForm(prefix="reply")
    return _form_action(
        item, form, "reply_form", form.body,
        lambda: services.reply_to_feedback(current_user, item, form.body.data),
        _("Your reply is sent. The person sees it with their feedback code, or in their "
          "account if they gave their name."))


@bp.post("/staff/feedback/<int:feedback_id>/themes")
@require(Permission.TRIAGE_FEEDBACK)
def themes(feedback_id: int):
    item = _load(feedback_id)
    form = ThemesForm(prefix="themes")
    return _form_action(
        item, form, "themes_form", form.themes,
        lambda: services.set_themes(current_user, item, (form.themes.data or "").split(",")),
        _("The themes are saved."))


@bp.post("/staff/feedback/<int:feedback_id>/quote")
@require(Permission.TRIAGE_FEEDBACK)
def quote(feedback_id: int):
    item = _load(feedback_id)
    form = QuoteForm(prefix="quote")
    removing = not (form.quote.data or "").strip()
    return _form_action(
        item, form, "quote_form", form.quote,
        lambda: services.set_quote(current_user, item, form.quote.data),
        _("The quote is removed.") if removing else
        _("The quote is saved. It is shown on the public page of any published change this "
          "feedback is linked to."))


@bp.post("/staff/feedback/<int:feedback_id>/safeguarding")
@require(Permission.TRIAGE_FEEDBACK)
def flag(feedback_id: int):
    return _button_action(_load(feedback_id), services.flag_safeguarding,
                          _("Sent to the safeguarding lead, who has been told."))


# --- safeguarding lead ------------------------------------------------------------------------


@bp.get("/staff/safeguarding/feedback")
@require(Permission.VIEW_SAFEGUARDING)
def safeguarding_queue():
    page = services.triage_queue(safeguarding_only=True, after=request.args.get("after"))
    return render_template("feedback/safeguarding_queue.html", page=page,
                           procedure=_procedure())


@bp.get("/staff/safeguarding/feedback/<int:feedback_id>")
@require(Permission.VIEW_SAFEGUARDING)
def safeguarding_item(feedback_id: int):
    item = _load(feedback_id)
    services.record_safeguarding_view(current_user, item)
    return render_template("feedback/safeguarding_item.html", item=item,
                           giver=services.named_giver(item), procedure=_procedure())


def _procedure() -> str:
    return current_app.config["SAFEGUARDING_PROCEDURE"]
