"""Payments use cases: preferences, claims, expenses, receipts and approvals.

Every state change is a conditional UPDATE (`WHERE state IN (...)`) checked by its row count,
so two people pressing the same button at once move a claim only once. Each move is recorded
(ClaimEvent: who, when, why), audited, and the member is told discreetly.
"""

from __future__ import annotations

import enum
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from engage.accounts.models import User
from engage.core import audit, clock
from engage.core.money import format_pence
from engage.core.notify import Message, notify
from engage.core.permissions import Permission, can
from engage.core.unit_of_work import atomic
from engage.errors import InvalidState, NotAllowed, NotFound, ValidationFailed
from engage.extensions import db
from engage.panels.models import PLACE_HOLDING_STATES, Panel, PanelMembership
from engage.payments import ledger, receipts
from engage.payments.activities import Activity, Attendee
from engage.payments.calculation import (
    ActivityFacts,
    AdvanceFacts,
    ExpenseFacts,
    PersonFacts,
    Result,
    TicketFacts,
    add_months,
    calculate,
    claim_deadline,
    format_duration,
    tax_year_bounds,
    tax_year_label,
    tax_year_start,
)
from engage.payments.links import link
from engage.payments.models import (
    BENEFITS_NOTICE_VERSION,
    EDITABLE_STATES,
    ActivitySupport,
    BenefitsNoticeView,
    Capacity,
    Claim,
    ClaimEvent,
    ClaimKind,
    ClaimState,
    Expense,
    ExpenseKind,
    ExpenseRule,
    LedgerEntry,
    LedgerEntryType,
    PaymentChoice,
    PaymentPreference,
    PaymentRoute,
    Payout,
    PayoutState,
    PayrollExport,
    PayrollLine,
    PayrollLineState,
    Receipt,
    SupportKind,
)
from engage.payments.policy import facts_of, version_in_force

# Claims that count towards a person's tax-year totals (cap and mileage bands).
COUNTING_STATES = (ClaimState.SUBMITTED, ClaimState.LEAD_APPROVED, ClaimState.APPROVED,
                   ClaimState.PAYING, ClaimState.TRANSFERRED, ClaimState.EXPORTED,
                   ClaimState.PAID, ClaimState.PAYMENT_FAILED)

# ---------------------------------------------------------------------------------------------
# Preferences and the benefits notice
# ---------------------------------------------------------------------------------------------


def preferences_of(user) -> PaymentPreference:
    """The person's preferences (defaults when they never set any; not saved until changed)."""
    pref = db.session.scalar(select(PaymentPreference).where(PaymentPreference.user_id == user.id))
    if pref is None:
        pref = PaymentPreference(user_id=user.id, choice=PaymentChoice.ACCEPT,
                                 route=PaymentRoute.STRIPE, capacity=Capacity.SELF,
                                 stripe_onboarded=False, access_needs_taxi=False)
    return pref


def has_seen_notice(user) -> bool:
    return db.session.scalar(select(BenefitsNoticeView.id).where(
        BenefitsNoticeView.user_id == user.id,
        BenefitsNoticeView.notice_version == BENEFITS_NOTICE_VERSION)) is not None


def record_notice_seen(user, where: str = "payment preferences") -> None:
    """Recorded each time the notice is shown before someone accepts a paid role, with the
    page it was shown on ("panel 3", "event 12")."""
    db.session.add(BenefitsNoticeView(user_id=user.id, notice_version=BENEFITS_NOTICE_VERSION,
                                      shown_on=where[:60]))
    audit.record("payments.benefits_notice_seen", actor_id=user.id, subject_type="user",
                 subject_id=user.id, notice_version=BENEFITS_NOTICE_VERSION, where=where)


@atomic
def update_preferences(user, *, choice: str, cap_pence: int | None, route: str, capacity: str,
                       payroll_number: str | None, access_needs_taxi: bool,
                       legal_name: str | None = None) -> PaymentPreference:
    if choice not in set(PaymentChoice) or route not in set(PaymentRoute) or (
        capacity not in set(Capacity)
    ):
        raise ValidationFailed("Choose one of the options shown.")
    if choice == PaymentChoice.CAP and (cap_pence is None or cap_pence < 0):
        raise ValidationFailed("Enter the most you want to be paid in a tax year, like 500.")
    payroll_number = (payroll_number or "").strip()
    legal_name = " ".join((legal_name or "").split())
    if route == PaymentRoute.PAYROLL and not (payroll_number and legal_name):
        raise ValidationFailed("To be paid through payroll, enter your full legal name and your "
                               "payroll number (payroll needs both), or choose another way to "
                               "be paid.")
    pref = preferences_of(user)
    pref.choice = choice
    pref.cap_pence = cap_pence if choice == PaymentChoice.CAP else None
    pref.route = route
    pref.capacity = capacity
    # Only kept while payroll is the way they are paid: no reason to hold them otherwise.
    payroll = route == PaymentRoute.PAYROLL
    pref.payroll_number = payroll_number[:40] if payroll else None
    pref.legal_name = legal_name[:120] if payroll else None
    pref.access_needs_taxi = access_needs_taxi
    db.session.add(pref)
    db.session.flush()
    audit.record("payments.preferences_changed", actor_id=user.id, subject_type="user",
                 subject_id=user.id)
    return pref


# ---------------------------------------------------------------------------------------------
# Creating claims
# ---------------------------------------------------------------------------------------------


def create_draft_involvement_claims(activity: Activity, attendees: Iterable[Attendee],
                                    actor=None) -> list[Claim]:
    """One draft claim per attendee who took part, or, for a cancelled activity, per person
    listed (to claim expenses they could not get back, and the involvement payment when the
    lead marked the cancellation payable). Running it again for the same activity creates
    nothing new: a unique constraint holds one claim per person per activity."""
    created = []
    version = version_in_force(activity.activity_date)
    for attendee in attendees:
        if attendee.minutes_taken_part <= 0 and not activity.cancelled:
            continue
        existing = db.session.scalar(select(Claim).where(
            Claim.user_id == attendee.user_id, Claim.activity_kind == activity.kind,
            Claim.activity_ref_id == activity.ref_id))
        if existing is not None:
            continue
        claim = Claim(
            user_id=attendee.user_id, kind=ClaimKind.INVOLVEMENT, state=ClaimState.DRAFT,
            activity_kind=activity.kind, activity_ref_id=activity.ref_id,
            activity_title=activity.title, activity_date=activity.activity_date,
            involvement_level=activity.involvement_level, panel_id=activity.panel_id,
            lead_ids=list(activity.lead_ids), minutes_taken_part=attendee.minutes_taken_part,
            planned_minutes=activity.planned_minutes, day_minutes=list(attendee.day_minutes),
            prep_minutes=activity.prep_minutes, prep_paid=activity.prep_paid,
            activity_cancelled=activity.cancelled,
            cancellation_payable=activity.cancellation_payable,
            declined_for_activity=attendee.declined,
            policy_version_id=version.id, explanation=[],
        )
        db.session.add(claim)
        db.session.flush()
        _record(claim, actor, None, ClaimState.DRAFT,
                "Made because the activity was cancelled" if activity.cancelled
                else "Created from the attendance register")
        recalculate(claim)
        _tell_claim_ready(claim, activity)
        created.append(claim)
    return created


def _tell_claim_ready(claim: Claim, activity: Activity) -> None:
    user = db.session.get(User, claim.user_id) if claim.user_id else None
    if user is None:
        return
    if activity.cancelled:
        text = (f"'{activity.title}' was cancelled. You can claim back any costs you could "
                "not get refunded, such as tickets already bought"
                + (", and the involvement payment, as the lead agreed it is paid"
                   if activity.cancellation_payable else "") + ".")
    else:
        text = (f"You can now claim for '{activity.title}'. Check the amount, add any expenses "
                "and send it when you are ready.")
    notify(user, Message("You can claim for an activity", text,
                         link("payments.claim", claim_id=claim.id)),
           dedupe_key=f"payments-claim-created-{claim.id}")


def panels_for_expense_claims(user) -> list:
    """Panels the person is a member of (active or on a break): an expense-only claim is for
    work on one of them, and goes to that panel's facilitators and leads."""
    return list(db.session.scalars(
        select(Panel).join(PanelMembership, PanelMembership.panel_id == Panel.id)
        .where(PanelMembership.user_id == user.id,
               PanelMembership.state.in_(PLACE_HOLDING_STATES))
        .order_by(Panel.name)))


OLDEST_CLAIM_MONTHS = 12  # older activities: ask finance (a late claim needs their override)


def _check_activity_date(activity_date: date) -> None:
    today = clock.today_london()
    if activity_date > today:
        raise ValidationFailed("The date of the activity must be today or in the past.")
    if activity_date < add_months(today, -OLDEST_CLAIM_MONTHS):
        raise ValidationFailed(
            f"That date is more than {OLDEST_CLAIM_MONTHS} months ago. Check the year; if "
            "the activity really was that long ago, please talk to finance about claiming.")


@atomic
def create_expense_claim(user, *, title: str, activity_date: date, panel_id: int | None
                         ) -> Claim:
    """An expense-only claim for work on one of the person's panels. The panel's facilitators
    and leads check it, as they do for the panel's meetings: the person does not choose who."""
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("Say what the expenses were for, like 'Training day in Leeds'.")
    _check_activity_date(activity_date)
    panel = next((p for p in panels_for_expense_claims(user) if p.id == panel_id), None)
    if panel is None:
        raise ValidationFailed("Choose the panel the activity was for.")
    lead_ids = [p.id for p in panel.facilitators_and_leads() if p.id != user.id]
    if not lead_ids:
        raise ValidationFailed("This panel has nobody to check claims at the moment. Please "
                               "ask the panel's organisers, or finance, how to claim.")
    version = version_in_force(activity_date)
    claim = Claim(
        user_id=user.id, kind=ClaimKind.EXPENSES, state=ClaimState.DRAFT, activity_kind="other",
        activity_ref_id=None, activity_title=title[:200], activity_date=activity_date,
        involvement_level=1, panel_id=panel.id, lead_ids=lead_ids,
        policy_version_id=version.id, explanation=[],
    )
    db.session.add(claim)
    db.session.flush()
    _record(claim, user, None, ClaimState.DRAFT, None)
    recalculate(claim)
    return claim


# ---------------------------------------------------------------------------------------------
# Reading claims (object-level rules)
# ---------------------------------------------------------------------------------------------


def get_claim(claim_id: int) -> Claim:
    claim = db.session.get(Claim, claim_id)
    if claim is None:
        raise NotFound("That claim does not exist.")
    return claim


def is_lead_for(user, claim: Claim) -> bool:
    return bool(user and user.is_authenticated and user.id in (claim.lead_ids or [])
                and can(user, Permission.APPROVE_CLAIMS_AS_LEAD))


def is_finance(user) -> bool:
    return can(user, Permission.APPROVE_CLAIMS_AS_FINANCE)


def can_see_claim(user, claim: Claim) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return claim.user_id == user.id or is_lead_for(user, claim) or is_finance(user)


def visible_claim(user, claim_id: int) -> Claim:
    """The claim if this person may see it; otherwise NotFound (never reveal it exists)."""
    claim = db.session.get(Claim, claim_id)
    if claim is None or not can_see_claim(user, claim):
        raise NotFound("That claim does not exist.")
    return claim


def own_claim(user, claim_id: int) -> Claim:
    claim = db.session.get(Claim, claim_id)
    if claim is None or claim.user_id != user.id:
        raise NotFound("That claim does not exist.")
    return claim


def claims_of(user) -> list[Claim]:
    return list(db.session.scalars(select(Claim).where(Claim.user_id == user.id)
                                   .order_by(Claim.activity_date.desc(), Claim.id.desc())))


def lead_queue(user) -> list[Claim]:
    rows = db.session.scalars(select(Claim).where(Claim.state == ClaimState.SUBMITTED)
                              .order_by(Claim.submitted_at))
    return [c for c in rows if is_lead_for(user, c) and c.user_id != user.id]


# ---------------------------------------------------------------------------------------------
# Working out the amount
# ---------------------------------------------------------------------------------------------


def _counted_before(claim: Claim):
    """The person's other claims that come before this one for the tax-year cap and the
    mileage bands: claims still counting (sent, approved or paid), sent before this one. A
    claim not sent yet comes after all of them. A rejected or returned claim counts for
    nothing, so it frees the room it took."""
    query = select(Claim.id).where(Claim.user_id == claim.user_id, Claim.id != claim.id,
                                   Claim.state.in_(COUNTING_STATES))
    if claim.state in COUNTING_STATES and claim.submitted_at is not None:
        sent = claim.submitted_at
        query = query.where(Claim.submitted_at.is_not(None),
                            (Claim.submitted_at < sent)
                            | ((Claim.submitted_at == sent) & (Claim.id < claim.id)))
    return query


def _tax_year_so_far(claim: Claim) -> tuple[int, dict[tuple[int, str], int]]:
    """Involvement already claimed in the claim's tax year (by activity date), and miles
    already claimed per tax year (by each journey's own date) and category."""
    counted = _counted_before(claim)
    start, end = tax_year_bounds(tax_year_start(claim.activity_date))
    involvement = db.session.scalar(
        select(func.coalesce(func.sum(Claim.involvement_pence), 0)).where(
            Claim.id.in_(counted), Claim.activity_date >= start, Claim.activity_date <= end))
    miles: dict[tuple[int, str], int] = defaultdict(int)
    for category, day, count in db.session.execute(
            select(Expense.category, Expense.expense_date, Expense.miles)
            .where(Expense.claim_id.in_(counted), Expense.miles.is_not(None))):
        miles[(tax_year_start(day), category)] += int(count or 0)
    return int(involvement or 0), dict(miles)


def capacity_of(claim: Claim, pref: PaymentPreference) -> str:
    """How the person took part: chosen on the claim when sent, else their usual way."""
    return claim.capacity or pref.capacity or Capacity.SELF


def person_facts(claim: Claim) -> PersonFacts:
    user = db.session.get(User, claim.user_id) if claim.user_id else None
    pref = preferences_of(user) if user else PaymentPreference(
        choice="accept", capacity="self", access_needs_taxi=False)
    involvement, miles = _tax_year_so_far(claim)
    return PersonFacts(
        choice=pref.choice, cap_pence=pref.cap_pence, capacity=capacity_of(claim, pref),
        declined_for_activity=claim.declined_for_activity,
        access_needs_taxi=bool(pref.access_needs_taxi), involvement_so_far_pence=involvement,
        miles_so_far=miles, tax_year_label=tax_year_label(claim.activity_date),
    )


def support_for(claim: Claim) -> list[ActivitySupport]:
    """Advances and booked tickets recorded for this person and this claim's activity (not
    those withdrawn as recorded by mistake)."""
    if claim.user_id is None or claim.activity_ref_id is None:
        return []
    return list(db.session.scalars(select(ActivitySupport).where(
        ActivitySupport.user_id == claim.user_id,
        ActivitySupport.activity_kind == claim.activity_kind,
        ActivitySupport.activity_ref_id == claim.activity_ref_id,
        ActivitySupport.withdrawn_at.is_(None))
        .order_by(ActivitySupport.paid_on, ActivitySupport.id)))


def work_out(claim: Claim) -> Result:
    version = claim.policy_version or version_in_force(claim.activity_date)
    activity = ActivityFacts(
        title=claim.activity_title, kind_label=_kind_label(claim),
        involvement_level=claim.involvement_level, minutes_taken_part=claim.minutes_taken_part,
        day_minutes=tuple(claim.day_minutes or ()), prep_minutes=claim.prep_minutes,
        prep_paid=claim.prep_paid,
        cancelled=claim.activity_cancelled, cancellation_payable=claim.cancellation_payable,
        activity_date=claim.activity_date, planned_minutes=claim.planned_minutes,
    )
    items = [ExpenseFacts(category=e.category, amount_pence=e.amount_pence, miles=e.miles,
                          has_receipt=e.receipt_id is not None, preapproved=e.preapproved,
                          expense_date=e.expense_date)
             for e in claim.expenses]
    support = support_for(claim)
    advances = [AdvanceFacts(s.amount_pence, s.paid_on) for s in support
                if s.kind == SupportKind.ADVANCE]
    tickets = [TicketFacts(s.description, s.amount_pence) for s in support
               if s.kind == SupportKind.TICKET]
    return calculate(facts_of(version), activity, person_facts(claim), items,
                     include_involvement=claim.kind == ClaimKind.INVOLVEMENT,
                     advances=advances, tickets=tickets)


def _kind_label(claim: Claim) -> str:
    return "meeting" if claim.activity_kind == "event" else "activity"


def recalculate(claim: Claim) -> Result:
    """Work the claim out again with the version in force on the activity date."""
    version = version_in_force(claim.activity_date)
    claim.policy_version_id = version.id
    claim.policy_version = version
    result = work_out(claim)
    claim.involvement_pence = result.involvement_pence
    claim.declined_pence = result.declined_pence
    claim.expenses_pence = result.expenses_pence
    claim.advance_pence = result.advance_pence
    claim.explanation = list(result.lines)
    for expense, allowed in zip(claim.expenses, result.expenses, strict=True):
        expense.allowed_pence = allowed.pence
    db.session.flush()
    return result


def rework(claim: Claim, actor, why: str) -> Result:
    """Work a sent claim out again (at an approval step, or because another claim of the
    person's changed), and say so on its history when the amount changed."""
    before = (claim.involvement_pence, claim.declined_pence, claim.expenses_pence,
              claim.advance_pence)
    was = claim.to_pay_pence
    result = recalculate(claim)
    after = (claim.involvement_pence, claim.declined_pence, claim.expenses_pence,
             claim.advance_pence)
    if after != before:
        _record(claim, actor, claim.state, claim.state,
                f"Worked out again {why}: {format_pence(was)} → "
                f"{format_pence(claim.to_pay_pence)} to pay")
    return result


REWORKED_STATES = (ClaimState.SUBMITTED, ClaimState.LEAD_APPROVED)


def rework_others(claim: Claim, actor) -> None:
    """Another claim of this person stopped counting (rejected, returned or withdrawn): their
    claims still being checked are worked out again, oldest first, so the room it took under
    their tax-year cap and the mileage bands goes to them."""
    if claim.user_id is None:
        return
    others = db.session.scalars(select(Claim).where(
        Claim.user_id == claim.user_id, Claim.id != claim.id,
        Claim.state.in_(REWORKED_STATES)).order_by(Claim.submitted_at, Claim.id))
    for other in others:
        rework(other, actor, "because another of your claims is no longer counted")


def deadline_of(claim: Claim) -> date:
    version = claim.policy_version or version_in_force(claim.activity_date)
    return claim_deadline(claim.activity_date, version.claim_deadline_months)


def is_past_deadline(claim: Claim) -> bool:
    return clock.today_london() > deadline_of(claim)


# ---------------------------------------------------------------------------------------------
# Expenses and receipts
# ---------------------------------------------------------------------------------------------


def _editable_own(user, claim: Claim) -> None:
    if claim.user_id != user.id:
        raise NotFound("That claim does not exist.")
    if claim.state not in EDITABLE_STATES:
        raise InvalidState("This claim has been sent, so it can no longer be changed. If "
                           "something is wrong, ask the lead to return it to you.")


def expense_window(claim: Claim) -> tuple[date, date]:
    """The dates an expense on this claim may have: from as many months before the activity
    as the claim deadline allows after it (tickets are often bought well ahead), to the claim
    deadline, and never after today."""
    version = claim.policy_version or version_in_force(claim.activity_date)
    months = version.claim_deadline_months
    return (add_months(claim.activity_date, -months),
            min(claim_deadline(claim.activity_date, months), clock.today_london()))


def _check_expense(claim: Claim, rule: ExpenseRule, expense_date: date,
                   amount_pence: int | None, miles: int | None) -> None:
    first, last = expense_window(claim)
    if not first <= expense_date <= last:
        raise ValidationFailed(
            f"Enter a date between {first:%-d %B %Y} and {last:%-d %B %Y}: expenses for "
            f"this activity are from around {claim.activity_date:%-d %B %Y}, and not in the "
            "future.")
    name = rule.label.lower()
    if rule.kind == ExpenseKind.MILEAGE:
        if not miles or miles <= 0:
            raise ValidationFailed("Enter the number of miles, like 12.")
        if rule.max_miles is not None and miles > rule.max_miles:
            raise ValidationFailed(
                f"One {name} journey can be at most {rule.max_miles:,} miles under this "
                "policy. Check the number; for a longer trip, add each journey separately.")
        return
    if amount_pence is None or amount_pence <= 0:
        raise ValidationFailed("Enter the amount you paid, like 6.50.")
    if rule.max_line_pence is not None and amount_pence > rule.max_line_pence:
        raise ValidationFailed(
            f"One {name} expense can be at most {format_pence(rule.max_line_pence)} under "
            "this policy. Check the amount (for example 6.50 for six pounds fifty). If it "
            "really cost more, please talk to finance before you claim it.")


@atomic
def add_expense(user, claim: Claim, *, category: str, expense_date: date,
                amount_pence: int | None, miles: int | None, description: str,
                preapproved: bool, receipt_file: tuple[str, bytes] | None) -> Expense:
    _editable_own(user, claim)
    version = claim.policy_version or version_in_force(claim.activity_date)
    rule = next((r for r in version.expense_rules if r.category == category), None)
    if rule is None:
        raise ValidationFailed("Choose the type of expense.")
    _check_expense(claim, rule, expense_date, amount_pence, miles)
    if rule.kind == ExpenseKind.MILEAGE:
        amount_pence = None
    else:
        miles = None
    receipt = None
    if receipt_file is not None:
        filename, data = receipt_file
        kind = receipts.check(filename, data)
        stored = receipts.store(data, kind)
        receipt = Receipt(claim_id=claim.id, uploaded_by_id=user.id,
                          stored_name=stored.stored_name, content_type=kind.content_type,
                          extension=kind.extension, size_bytes=stored.size, sha256=stored.sha256)
        db.session.add(receipt)
        db.session.flush()
    expense = Expense(claim_id=claim.id, category=category, expense_date=expense_date,
                      amount_pence=amount_pence, miles=miles,
                      description=(description or "").strip()[:200], preapproved=preapproved,
                      receipt_id=receipt.id if receipt else None)
    db.session.add(expense)
    claim.expenses.append(expense)
    db.session.flush()
    recalculate(claim)
    audit.record("payments.expense_added", actor_id=user.id, subject_type="payment_claim",
                 subject_id=claim.id)
    return expense


@atomic
def remove_expense(user, claim: Claim, expense_id: int) -> None:
    _editable_own(user, claim)
    expense = next((e for e in claim.expenses if e.id == expense_id), None)
    if expense is None:
        raise NotFound("That expense is not on this claim.")
    claim.expenses.remove(expense)
    db.session.delete(expense)
    db.session.flush()
    recalculate(claim)


def receipt_for(user, receipt_id: int) -> Receipt:
    """Only the claimant, the claim's lead and finance may see a receipt; anyone else gets
    NotFound."""
    receipt = db.session.get(Receipt, receipt_id)
    if receipt is None:
        raise NotFound("That receipt does not exist.")
    claim = db.session.get(Claim, receipt.claim_id)
    if claim is None or not (claim.user_id == user.id or is_finance(user)
                             or is_lead_for(user, claim)):
        raise NotFound("That receipt does not exist.")
    return receipt


# ---------------------------------------------------------------------------------------------
# Moving a claim
# ---------------------------------------------------------------------------------------------


def _staff_name(claim: Claim, actor) -> str | None:
    """The name of a member of staff acting on someone else's claim, kept on the payment
    record for as long as it is kept. The claimant's own steps carry no name: their link to
    the record goes when they close their account."""
    if actor is None or actor.id == claim.user_id:
        return None
    return (actor.display_name or "")[:120] or None


def _record(claim: Claim, actor, from_state, to_state, reason) -> None:
    db.session.add(ClaimEvent(claim_id=claim.id, actor_id=actor.id if actor else None,
                              actor_name=_staff_name(claim, actor), from_state=from_state,
                              to_state=to_state, reason=reason))


MEMBER_MESSAGES = {
    ClaimState.LEAD_APPROVED: "The lead has checked your claim for '{title}'. It is now with "
                              "finance.",
    ClaimState.APPROVED: "Your claim for '{title}' has been approved and will be paid soon.",
    ClaimState.RETURNED: "Your claim for '{title}' has been returned to you with a note. "
                         "Please have a look.",
    ClaimState.REJECTED: "Your claim for '{title}' was not approved. The reason is on the "
                         "claim.",
    ClaimState.PAID: "Your claim for '{title}' has been paid.",
    ClaimState.EXPORTED: "Your claim for '{title}' has been sent to payroll.",
}


def tell_member(claim: Claim, state: str) -> None:
    text = MEMBER_MESSAGES.get(ClaimState(state))
    user = db.session.get(User, claim.user_id) if claim.user_id else None
    if text is None or user is None:
        return
    notify(user, Message("Update on your payment claim", text.format(title=claim.activity_title),
                         link("payments.claim", claim_id=claim.id)),
           dedupe_key=f"payments-claim-{claim.id}-{state}-{len(claim.history)}")


PAYING_STEPS = (ClaimState.PAYING, ClaimState.EXPORTED, ClaimState.PAID)


def move(claim: Claim, actor, from_states: Iterable[str], to_state: str, *,
         reason: str | None = None, action: str, **values) -> None:
    """Conditional state change: only one of two simultaneous moves wins."""
    from_states = tuple(from_states)
    previous = claim.state
    if to_state in PAYING_STEPS and _staff_name(claim, actor):
        values.setdefault("paid_by_name", _staff_name(claim, actor))
    result = db.session.execute(
        update(Claim).where(Claim.id == claim.id, Claim.state.in_(from_states))
        .values(state=to_state, updated_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(claim)
        raise InvalidState("Someone else has already dealt with this claim: it is now "
                           f"'{claim.state_label}'. Nothing was changed.")
    db.session.refresh(claim)
    _record(claim, actor, previous, to_state, reason)
    audit.record(action, actor_id=actor.id if actor else None, subject_type="payment_claim",
                 subject_id=claim.id, from_state=previous, to_state=to_state)
    db.session.flush()
    tell_member(claim, to_state)


@atomic
def submit_claim(user, claim: Claim, *, declined_for_activity: bool = False,
                 capacity: str | None = None) -> Result:
    """Send the claim to the lead. How the person took part in this activity (`capacity`:
    themselves, for an organisation, or as an employee in work time) is chosen now; the form
    starts from their usual way."""
    _editable_own(user, claim)
    pref = preferences_of(user)
    capacity = capacity or capacity_of(claim, pref)
    if capacity not in set(Capacity):
        raise ValidationFailed("Choose how you took part in this activity.")
    claim.declined_for_activity = declined_for_activity
    claim.capacity = capacity
    claim.route = pref.route
    result = recalculate(claim)
    if result.problems:
        raise ValidationFailed(" ".join(result.problems))
    if claim.total_pence == 0 and claim.declined_pence == 0:
        raise ValidationFailed("There is nothing to claim yet: add an expense, or leave the "
                               "claim as it is.")
    late = is_past_deadline(claim)
    move(claim, user, EDITABLE_STATES, ClaimState.SUBMITTED, action="payments.claim_submitted",
         submitted_at=clock.now(), is_late=late)
    for lead_id in claim.lead_ids or []:
        lead = db.session.get(User, lead_id)
        if lead is not None and lead.id != user.id:
            notify(lead, Message("A payment claim is waiting for you",
                                 f"A claim for '{claim.activity_title}' needs checking.",
                                 link("payments.lead_queue")),
                   dedupe_key=f"payments-lead-{claim.id}-{len(claim.history)}")
    return result


def _reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(f"Give a reason so the person knows why the claim was {what}.")
    return reason


def _check_lead(actor, claim: Claim, what: str) -> None:
    if not is_lead_for(actor, claim):
        raise NotAllowed(f"Only the activity's lead can {what} this claim.")
    if claim.user_id == actor.id:
        raise NotAllowed("You cannot check your own claim.")


@atomic
def lead_approve(actor, claim: Claim, note: str | None = None) -> None:
    _check_lead(actor, claim, "approve")
    if claim.state == ClaimState.SUBMITTED:
        rework(claim, actor, "at the lead's check")
    move(claim, actor, [ClaimState.SUBMITTED], ClaimState.LEAD_APPROVED, reason=note or None,
         action="payments.claim_lead_approved", lead_approved_by_id=actor.id,
         lead_approved_by_name=_staff_name(claim, actor), lead_approved_at=clock.now())


@atomic
def lead_return(actor, claim: Claim, reason: str) -> None:
    _check_lead(actor, claim, "return")
    move(claim, actor, [ClaimState.SUBMITTED], ClaimState.RETURNED,
         reason=_reason(reason, "returned"), action="payments.claim_returned")
    rework_others(claim, actor)


@atomic
def lead_reject(actor, claim: Claim, reason: str) -> None:
    """The lead decides the claim should not be paid at all (not just changed)."""
    _check_lead(actor, claim, "reject")
    move(claim, actor, [ClaimState.SUBMITTED], ClaimState.REJECTED,
         reason=_reason(reason, "not approved"), action="payments.claim_rejected")
    rework_others(claim, actor)


def _check_finance(actor, claim: Claim) -> None:
    if not is_finance(actor):
        raise NotAllowed("Only finance can do this.")
    if actor.id == claim.user_id:
        raise NotAllowed("You cannot approve your own claim.")
    if actor.id == claim.lead_approved_by_id:
        raise NotAllowed("You approved this claim as the lead, so a different finance "
                         "officer must approve it.")


def finance_approval_count(claim: Claim) -> int:
    return sum(1 for event in claim.history if event.to_state == ClaimState.APPROVED)


@atomic
def finance_approve(actor, claim: Claim) -> None:
    _check_finance(actor, claim)
    if claim.is_late and not claim.late_override_reason:
        raise InvalidState("This claim was sent after the deadline. Record a late-claim "
                           "override with a reason first.")
    if claim.state == ClaimState.LEAD_APPROVED:
        # Worked out again now (advances recorded since, the tax-year cap, mileage bands),
        # so the ledger records what is really owed.
        rework(claim, actor, "at finance's check")
    move(claim, actor, [ClaimState.LEAD_APPROVED], ClaimState.APPROVED,
         action="payments.claim_finance_approved", finance_approved_by_id=actor.id,
         finance_approved_by_name=_staff_name(claim, actor), finance_approved_at=clock.now())
    db.session.refresh(claim, ["history"])
    ledger.record_payable(claim, actor, approval=finance_approval_count(claim))
    if claim.advance_pence and claim.to_pay_pence == 0:
        # The advance already paid all of it: nothing more to send.
        move(claim, actor, [ClaimState.APPROVED], ClaimState.PAID,
             reason="Covered by the advance already paid", action="payments.claim_paid",
             paid_at=clock.now(), payment_reference="Covered by advance")


@atomic
def finance_reject(actor, claim: Claim, reason: str) -> None:
    _check_finance(actor, claim)
    move(claim, actor, [ClaimState.LEAD_APPROVED], ClaimState.REJECTED,
         reason=_reason(reason, "not approved"), action="payments.claim_rejected")
    rework_others(claim, actor)


@atomic
def finance_return(actor, claim: Claim, reason: str) -> None:
    _check_finance(actor, claim)
    move(claim, actor, [ClaimState.LEAD_APPROVED], ClaimState.RETURNED,
         reason=_reason(reason, "returned"), action="payments.claim_returned")
    rework_others(claim, actor)


# Approved but not paid: finance can still withdraw the approval.
WITHDRAWABLE_STATES = (ClaimState.APPROVED, ClaimState.PAYMENT_FAILED, ClaimState.PAYING,
                       ClaimState.EXPORTED)


class WithdrawTo(enum.StrEnum):
    MEMBER = "member"  # returned to the member to change and send again
    NOT_PAID = "not_paid"  # rejected: it will not be paid
    FINANCE = "finance"  # back to "waiting for finance", to check and approve again


WITHDRAW_STATES = {WithdrawTo.MEMBER: ClaimState.RETURNED,
                   WithdrawTo.NOT_PAID: ClaimState.REJECTED,
                   WithdrawTo.FINANCE: ClaimState.LEAD_APPROVED}


def _stop_unsent_payout(claim: Claim, reason: str) -> None:
    """A claim being paid can be withdrawn only while its payout is unsent: the payout is
    cancelled here (conditionally), so the sender, which moves a payout from pending to
    sending with a conditional update, never sends it."""
    payout = db.session.scalar(select(Payout).where(Payout.claim_id == claim.id))
    if payout is None:
        return
    now = clock.now()
    result = db.session.execute(
        update(Payout).where(Payout.id == payout.id, Payout.state == PayoutState.PENDING)
        .values(state=PayoutState.CANCELLED, failure_reason=reason[:500], state_since=now,
                updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1 and claim.state == ClaimState.PAYING:
        raise InvalidState("This payment has already been sent to the bank, so its approval "
                           "can no longer be withdrawn. If it should not have been paid, "
                           "correct it once the payment has been made or has failed.")
    db.session.refresh(payout)


def _take_out_of_payroll(claim: Claim, reason: str) -> None:
    if claim.payroll_export_id is None:
        return
    export = db.session.get(PayrollExport, claim.payroll_export_id)
    if export is not None and export.confirmed_paid_at is not None:
        raise InvalidState("Payroll has already confirmed paying this claim.")
    db.session.execute(
        update(PayrollLine).where(PayrollLine.claim_id == claim.id,
                                  PayrollLine.export_id == claim.payroll_export_id,
                                  PayrollLine.state == PayrollLineState.EXPORTED)
        .values(state=PayrollLineState.FAILED, failure_reason=reason[:500])
        .execution_options(synchronize_session=False))


@atomic
def withdraw_approval(actor, claim: Claim, reason: str, to: str) -> None:
    """Finance takes back its approval of a claim that has not been paid: the amount owed
    comes off the ledger (reversing entries), an unsent payout will not be sent, and payroll
    lines not yet confirmed are marked failed. The claim goes back to the member, is not
    paid at all, or waits for finance again."""
    if not is_finance(actor):
        raise NotAllowed("Only finance can withdraw an approval.")
    if actor.id == claim.user_id:
        raise NotAllowed("You cannot change the approval of your own claim.")
    try:
        target = WITHDRAW_STATES[WithdrawTo(to)]
    except ValueError:
        raise ValidationFailed("Choose what happens to the claim next.") from None
    _withdraw(actor, claim, _reason(reason, "withdrawn"), target)


def _withdraw(actor, claim: Claim, reason: str, target: str) -> None:
    if claim.state not in WITHDRAWABLE_STATES:
        raise InvalidState(f"This claim is '{claim.state_label}', so there is no approval to "
                           "withdraw.")
    if claim.state == ClaimState.PAYMENT_FAILED:
        payout = db.session.scalar(select(Payout).where(Payout.claim_id == claim.id))
        if payout is not None and payout.transfer_stands:
            raise InvalidState("The money for this claim is in the member's Stripe account "
                               "(their bank did not accept it), so its approval can no longer "
                               "be withdrawn. Record the payment another way or pay it again.")
    if claim.state == ClaimState.PAYING:
        _stop_unsent_payout(claim, f"Approval withdrawn by finance: {reason}")
    if claim.state == ClaimState.EXPORTED:
        _take_out_of_payroll(claim, f"Approval withdrawn by finance: {reason}")
    move(claim, actor, WITHDRAWABLE_STATES, target,
         reason=f"Approval withdrawn before payment: {reason}",
         action="payments.claim_approval_withdrawn", finance_approved_by_id=None,
         finance_approved_at=None, payroll_export_id=None)
    ledger.reverse_payables(claim, actor, f"Approval withdrawn: {reason}")
    if target != ClaimState.LEAD_APPROVED:
        rework_others(claim, actor)


@atomic
def correct_ledger(actor, entry_id: int, reason: str) -> LedgerEntry:
    """A reversing entry. Correcting what a claim owes before it is paid also withdraws the
    claim's approval (it waits for finance again), so no payout or payroll export can pay
    the old amount."""
    reversal = ledger.reverse(actor, entry_id, reason)
    claim = db.session.get(Claim, reversal.claim_id) if reversal.claim_id else None
    original = db.session.get(LedgerEntry, entry_id)
    if (claim is not None and original.entry_type == LedgerEntryType.PAYABLE
            and claim.state in WITHDRAWABLE_STATES):
        _withdraw(actor, claim, f"the ledger was corrected ({reason.strip()})",
                  ClaimState.LEAD_APPROVED)
    return reversal


def bulk_finance_approve(actor, claim_ids: Iterable[int]) -> tuple[list[Claim], list[str]]:
    """Approve each claim that can be approved; report the others with the reason."""
    approved, problems = [], []
    for claim_id in claim_ids:
        claim = db.session.get(Claim, claim_id)
        if claim is None:
            continue
        try:
            with db.session.begin_nested():
                finance_approve(actor, claim)
            approved.append(claim)
        except (InvalidState, NotAllowed) as error:
            problems.append(f"Claim {claim.id}: {error.message}")
    return approved, problems


@atomic
def override_late(actor, claim: Claim, reason: str) -> None:
    if not is_finance(actor):
        raise NotAllowed("Only finance can accept a late claim.")
    if not claim.is_late:
        raise InvalidState("This claim was sent in time: no override is needed.")
    reason = _reason(reason, "accepted late")
    result = db.session.execute(
        update(Claim).where(Claim.id == claim.id, Claim.late_override_reason.is_(None))
        .values(late_override_reason=reason, late_override_by_id=actor.id,
                late_override_by_name=_staff_name(claim, actor))
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise InvalidState("A late-claim override is already recorded for this claim.")
    db.session.refresh(claim)
    _record(claim, actor, claim.state, claim.state, f"Late claim accepted: {reason}")
    audit.record("payments.late_override", actor_id=actor.id, subject_type="payment_claim",
                 subject_id=claim.id)


# ---------------------------------------------------------------------------------------------
# Claims follow attendance corrections (engage/payments/events_link.py)
# ---------------------------------------------------------------------------------------------


def follow_attendance(claim: Claim, minutes: int, actor, why: str,
                      day_minutes: tuple[int, ...] = ()) -> None:
    """The organiser corrected the person's attendance after the register was finalised. A
    claim not yet paid takes the new time and is worked out again; an approved one goes back
    to finance first (its approval withdrawn), so it is never paid on the old attendance. A
    claim already paid, or already being sent to the bank, is noted for finance to check."""
    if minutes == claim.minutes_taken_part and list(day_minutes) == list(claim.day_minutes or []):
        return
    note = (f"Attendance corrected by the organiser: {format_duration(claim.minutes_taken_part)}"
            f" → {format_duration(minutes)}" + (f" ({why.strip()})" if why.strip() else ""))
    if claim.state in WITHDRAWABLE_STATES:
        try:
            with db.session.begin_nested():
                _withdraw(actor, claim, note, ClaimState.LEAD_APPROVED)
        except InvalidState:
            _tell_finance_to_check(claim, actor, note)
            return
    elif claim.state == ClaimState.PAID:
        _tell_finance_to_check(claim, actor, note)
        return
    claim.minutes_taken_part = minutes
    claim.day_minutes = list(day_minutes)
    _record(claim, actor, claim.state, claim.state, note)
    if claim.state in EDITABLE_STATES:
        recalculate(claim)
    else:
        rework(claim, actor, "after the attendance correction")


def _tell_finance_to_check(claim: Claim, actor, note: str) -> None:
    _record(claim, actor, claim.state, claim.state,
            f"{note}. The claim was already paid or on its way, so it was not changed: "
            "finance will check it.")
    for person in finance_people():
        notify(person, Message("A paid claim needs checking",
                               f"Attendance for '{claim.activity_title}' was corrected after "
                               "the claim was paid or sent. Please check it.",
                               link("payments.claim", claim_id=claim.id)),
               dedupe_key=f"payments-attendance-{claim.id}-{len(claim.history)}-{person.id}")


def finance_people() -> list[User]:
    return [u for u in db.session.scalars(select(User).options(selectinload(User.roles))
                                          .where(User.is_disabled.is_(False)))
            if is_finance(u)]


NO_PROGRAMME = "none"


@dataclass
class QueueFilters:
    """What finance asked the queue for. Empty means "any"; no state means the claims
    waiting for finance or for payment."""

    state: str | None = None
    panel_id: int | None = None
    route: str | None = None
    older_than_days: int | None = None
    programme: int | str | None = None  # a programme id, or NO_PROGRAMME
    activity: str | None = None  # "event:12" (kind and id) or "other:Title"
    search: str = ""  # a claim number ("12", "claim 12") or part of the claimant's name
    date_from: date | None = None  # activity date
    date_to: date | None = None


WAITING_FOR_FINANCE = (ClaimState.LEAD_APPROVED, ClaimState.APPROVED, ClaimState.PAYMENT_FAILED,
                       ClaimState.PAYING, ClaimState.TRANSFERRED, ClaimState.EXPORTED)
_CLAIM_NUMBER = re.compile(r"^(?:claim\s*)?#?\s*([0-9]{1,9})$", re.IGNORECASE | re.ASCII)


def _queue_query(filters: QueueFilters):
    query = (select(Claim).outerjoin(User, User.id == Claim.user_id)
             .where(Claim.state != ClaimState.DRAFT))
    if filters.programme == NO_PROGRAMME:
        query = query.outerjoin(Panel, Panel.id == Claim.panel_id).where(
            Panel.programme_id.is_(None))
    elif filters.programme:
        query = query.join(Panel, Panel.id == Claim.panel_id).where(
            Panel.programme_id == int(filters.programme))
    query = query.where(Claim.state == filters.state if filters.state
                        else Claim.state.in_(WAITING_FOR_FINANCE))
    if filters.panel_id:
        query = query.where(Claim.panel_id == filters.panel_id)
    if filters.route:
        query = query.where(Claim.route == filters.route)
    if filters.older_than_days:
        query = query.where(Claim.submitted_at <= clock.now()
                            - timedelta(days=filters.older_than_days))
    if filters.activity:
        kind, _sep, ref = filters.activity.partition(":")
        query = query.where(Claim.activity_kind == kind)
        query = query.where(Claim.activity_ref_id == int(ref) if ref.isdigit()
                            else Claim.activity_title == ref)
    if filters.date_from:
        query = query.where(Claim.activity_date >= filters.date_from)
    if filters.date_to:
        query = query.where(Claim.activity_date <= filters.date_to)
    search = " ".join((filters.search or "").split())
    if search:
        number = _CLAIM_NUMBER.match(search)
        by_name = func.lower(User.display_name).contains(search.lower(), autoescape=True)
        query = query.where(or_(Claim.id == int(number.group(1)), by_name) if number
                            else by_name)
    return query


def finance_queue(*, state: str | None = None, panel_id: int | None = None,
                  route: str | None = None, older_than_days: int | None = None,
                  programme: int | str | None = None) -> list[Claim]:
    """Claims for finance, oldest sent first (all of them: see queue_page for a page)."""
    query = _queue_query(QueueFilters(state=state, panel_id=panel_id, route=route,
                                      older_than_days=older_than_days, programme=programme))
    return list(db.session.scalars(query.order_by(Claim.submitted_at, Claim.id)))


@dataclass
class QueuePage:
    claims: list[Claim]
    names: dict[int, str]  # claimant names by user id
    count: int  # claims matching, on every page
    total_pence: int
    to_pay_pence: int
    page: int
    pages: int


def queue_page(filters: QueueFilters, page: int = 1, per_page: int = 50) -> QueuePage:
    """One page of the finance queue, with counts and totals over every matching claim."""
    query = _queue_query(filters)
    matching = query.with_only_columns(Claim.id).order_by(None).subquery()
    count, total, advance = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Claim.involvement_pence
                                                    + Claim.expenses_pence), 0),
               func.coalesce(func.sum(Claim.advance_pence), 0))
        .where(Claim.id.in_(select(matching.c.id)))).one()
    pages = max((count + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    claims = list(db.session.scalars(query.order_by(Claim.submitted_at, Claim.id)
                                     .limit(per_page).offset((page - 1) * per_page)))
    ids = {c.user_id for c in claims if c.user_id}
    names = dict(db.session.execute(select(User.id, User.display_name)
                                    .where(User.id.in_(ids))).all()) if ids else {}
    return QueuePage(claims, names, int(count), int(total), int(total) - int(advance), page,
                     pages)


def queue_activities(limit: int = 200) -> list[tuple[str, str]]:
    """Activities with claims, newest first, as (filter value, label) for the queue's filter."""
    rows = db.session.execute(
        select(Claim.activity_kind, Claim.activity_ref_id, Claim.activity_title,
               func.max(Claim.activity_date))
        .where(Claim.state != ClaimState.DRAFT)
        .group_by(Claim.activity_kind, Claim.activity_ref_id, Claim.activity_title)
        .order_by(func.max(Claim.activity_date).desc()).limit(limit)).all()
    return [(f"{kind}:{ref if ref is not None else title}",
             f"{title} ({day:%-d %b %Y})") for kind, ref, title, day in rows]


def is_overdue(claim: Claim) -> bool:
    """Past the target payment time (from submission) and not yet paid."""
    if claim.submitted_at is None or claim.state in (ClaimState.PAID, ClaimState.REJECTED):
        return False
    version = claim.policy_version
    days = version.target_payment_days if version else 30
    return clock.now() - claim.submitted_at > timedelta(days=days)
