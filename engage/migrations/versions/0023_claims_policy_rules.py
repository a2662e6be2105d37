"""claims follow every policy rule; payroll lines per pay element; staff names kept

Revision ID: 0023_claims_policy_rules
Revises: 0022_change_governance
Create Date: 2026-12-05 20:14:01

- The claim deadline is in calendar months (claim_deadline_months), not days: existing
  versions are carried over as whole months (91 days → 3 months), and back again on downgrade.
- Expense rules get the most one line may be (max_line_pence, max_miles), filled in for the
  shipped categories.
- Claims record how the person took part (capacity), the planned length of the activity
  (planned_minutes), and the names of the staff who acted (copied from their accounts now).
  Claim history rows get the name of the member of staff who acted.
- Payroll exports get a pay date and one line per pay element; earlier exports get one line
  per claim with its whole amount, as they were exported.
- Payment preferences can hold the person's legal name (encrypted), for payroll.
- A showing of the benefits and tax notice records where it was shown.
"""
import sqlalchemy as sa
from alembic import op

import engage.db


# revision identifiers, used by Alembic.
revision = '0023_claims_policy_rules'
down_revision = '0022_change_governance'
branch_labels = None
depends_on = None

# category -> (max_line_pence, max_miles), as shipped in engage/payments/policy.py.
MOST_PER_LINE = {
    "public_transport": (50000, None), "car": (None, 1000), "motorcycle": (None, 1000),
    "bicycle": (None, 200), "taxi": (30000, None), "parking": (10000, None),
    "care": (100000, None), "meals": (10000, None), "accommodation": (50000, None),
    "other": (50000, None),
}
DAYS_A_MONTH = 30.4375

users = sa.table("users", sa.column("id", sa.Integer), sa.column("display_name", sa.String))
claims = sa.table(
    "payment_claims", sa.column("id", sa.Integer), sa.column("user_id", sa.Integer),
    sa.column("late_override_by_id", sa.Integer), sa.column("lead_approved_by_id", sa.Integer),
    sa.column("finance_approved_by_id", sa.Integer),
    sa.column("late_override_by_name", sa.String), sa.column("lead_approved_by_name", sa.String),
    sa.column("finance_approved_by_name", sa.String), sa.column("payroll_export_id", sa.Integer),
    sa.column("involvement_pence", sa.Integer), sa.column("expenses_pence", sa.Integer),
    sa.column("advance_pence", sa.Integer), sa.column("state", sa.String))
claim_events = sa.table(
    "payment_claim_events", sa.column("id", sa.Integer), sa.column("claim_id", sa.Integer),
    sa.column("actor_id", sa.Integer), sa.column("actor_name", sa.String))
rules = sa.table("payment_expense_rules", sa.column("category", sa.String),
                 sa.column("max_line_pence", sa.Integer), sa.column("max_miles", sa.Integer))
versions = sa.table("payment_policy_versions", sa.column("id", sa.Integer),
                    sa.column("claim_deadline_days", sa.Integer),
                    sa.column("claim_deadline_months", sa.Integer))
exports = sa.table("payment_payroll_exports", sa.column("id", sa.Integer),
                   sa.column("confirmed_paid_at", sa.DateTime))
lines = sa.table(
    "payment_payroll_lines", sa.column("export_id", sa.Integer), sa.column("claim_id", sa.Integer),
    sa.column("position", sa.Integer), sa.column("element", sa.String),
    sa.column("label", sa.String), sa.column("taxable", sa.Boolean),
    sa.column("amount_pence", sa.Integer), sa.column("state", sa.String))


def upgrade():
    op.create_table(
        'payment_payroll_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('export_id', sa.Integer(), nullable=False),
        sa.Column('claim_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('element', sa.String(length=60), nullable=False),
        sa.Column('label', sa.String(length=120), nullable=False),
        sa.Column('taxable', sa.Boolean(), nullable=False),
        sa.Column('amount_pence', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('failure_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['claim_id'], ['payment_claims.id'],
                                name=op.f('fk_payment_payroll_lines_claim_id_payment_claims')),
        sa.ForeignKeyConstraint(
            ['export_id'], ['payment_payroll_exports.id'],
            name=op.f('fk_payment_payroll_lines_export_id_payment_payroll_exports'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_payroll_lines')),
        sa.UniqueConstraint('export_id', 'position',
                            name=op.f('uq_payment_payroll_lines_export_id')),
    )
    with op.batch_alter_table('payment_payroll_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_payroll_lines_claim_id'), ['claim_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_payment_payroll_lines_export_id'), ['export_id'],
                              unique=False)

    with op.batch_alter_table('payment_claim_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_name', sa.String(length=120), nullable=True))

    with op.batch_alter_table('payment_claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_minutes', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('capacity', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('late_override_by_name', sa.String(length=120),
                                      nullable=True))
        batch_op.add_column(sa.Column('lead_approved_by_name', sa.String(length=120),
                                      nullable=True))
        batch_op.add_column(sa.Column('finance_approved_by_name', sa.String(length=120),
                                      nullable=True))
        batch_op.add_column(sa.Column('paid_by_name', sa.String(length=120), nullable=True))

    with op.batch_alter_table('payment_expense_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_line_pence', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_miles', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f('ck_payment_expense_rules_max_line_positive'),
            'max_line_pence IS NULL OR max_line_pence > 0')
        batch_op.create_check_constraint(
            batch_op.f('ck_payment_expense_rules_max_miles_positive'),
            'max_miles IS NULL OR max_miles > 0')

    with op.batch_alter_table('payment_payroll_exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pay_date', sa.Date(), nullable=True))

    with op.batch_alter_table('payment_policy_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_deadline_months', sa.Integer(), nullable=False,
                                      server_default='3'))

    with op.batch_alter_table('payment_preferences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_name', engage.db.EncryptedText(), nullable=True))

    with op.batch_alter_table('payment_notice_views', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shown_on', sa.String(length=60), nullable=True))

    _carry_data_forward()

    with op.batch_alter_table('payment_policy_versions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_policy_versions_deadline_positive'),
                                 type_='check')
        batch_op.drop_column('claim_deadline_days')
        batch_op.create_check_constraint(
            batch_op.f('ck_payment_policy_versions_deadline_months_positive'),
            'claim_deadline_months > 0')


def _carry_data_forward():
    bind = op.get_bind()
    for version_id, days in bind.execute(sa.select(versions.c.id,
                                                   versions.c.claim_deadline_days)).all():
        bind.execute(versions.update().where(versions.c.id == version_id)
                     .values(claim_deadline_months=max(1, round(days / DAYS_A_MONTH))))
    for category, (most_pence, most_miles) in MOST_PER_LINE.items():
        bind.execute(rules.update().where(rules.c.category == category)
                     .values(max_line_pence=most_pence, max_miles=most_miles))
    names = dict(bind.execute(sa.select(users.c.id, users.c.display_name)).all())
    for row in bind.execute(sa.select(claims)).mappings().all():
        values = {f"{who}_name": names.get(row[f"{who}_id"])
                  for who in ("late_override_by", "lead_approved_by", "finance_approved_by")
                  if row[f"{who}_id"] is not None}
        if values:
            bind.execute(claims.update().where(claims.c.id == row["id"]).values(**values))
    # Names of staff on the history; a member's own steps on their claim carry no name.
    for event_id, actor_id, owner_id in bind.execute(
            sa.select(claim_events.c.id, claim_events.c.actor_id, claims.c.user_id)
            .join(claims, claims.c.id == claim_events.c.claim_id)
            .where(claim_events.c.actor_id.is_not(None))).all():
        if actor_id != owner_id and actor_id in names:
            bind.execute(claim_events.update().where(claim_events.c.id == event_id)
                         .values(actor_name=names[actor_id]))
    for export_id, confirmed in bind.execute(sa.select(exports.c.id,
                                                       exports.c.confirmed_paid_at)).all():
        exported = bind.execute(sa.select(claims).where(claims.c.payroll_export_id == export_id)
                                .order_by(claims.c.id)).mappings().all()
        for position, claim in enumerate(exported, start=1):
            to_pay = max(claim["involvement_pence"] + claim["expenses_pence"]
                         - claim["advance_pence"], 0)
            bind.execute(lines.insert().values(
                export_id=export_id, claim_id=claim["id"], position=position,
                element="claim_total", label="Whole claim (exported before pay elements)",
                taxable=False, amount_pence=to_pay,
                state="paid" if confirmed is not None else "exported"))


def downgrade():
    with op.batch_alter_table('payment_policy_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_deadline_days', sa.Integer(), nullable=False,
                                      server_default='91'))
    bind = op.get_bind()
    for version_id, months in bind.execute(sa.select(versions.c.id,
                                                     versions.c.claim_deadline_months)).all():
        bind.execute(versions.update().where(versions.c.id == version_id)
                     .values(claim_deadline_days=round(months * DAYS_A_MONTH)))
    with op.batch_alter_table('payment_policy_versions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_policy_versions_deadline_months_positive'),
                                 type_='check')
        batch_op.drop_column('claim_deadline_months')
        batch_op.create_check_constraint(
            batch_op.f('ck_payment_policy_versions_deadline_positive'),
            'claim_deadline_days > 0')

    with op.batch_alter_table('payment_notice_views', schema=None) as batch_op:
        batch_op.drop_column('shown_on')

    with op.batch_alter_table('payment_preferences', schema=None) as batch_op:
        batch_op.drop_column('legal_name')

    with op.batch_alter_table('payment_payroll_exports', schema=None) as batch_op:
        batch_op.drop_column('pay_date')

    with op.batch_alter_table('payment_expense_rules', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_expense_rules_max_miles_positive'),
                                 type_='check')
        batch_op.drop_constraint(op.f('ck_payment_expense_rules_max_line_positive'),
                                 type_='check')
        batch_op.drop_column('max_miles')
        batch_op.drop_column('max_line_pence')

    with op.batch_alter_table('payment_claims', schema=None) as batch_op:
        batch_op.drop_column('paid_by_name')
        batch_op.drop_column('finance_approved_by_name')
        batch_op.drop_column('lead_approved_by_name')
        batch_op.drop_column('late_override_by_name')
        batch_op.drop_column('capacity')
        batch_op.drop_column('planned_minutes')

    with op.batch_alter_table('payment_claim_events', schema=None) as batch_op:
        batch_op.drop_column('actor_name')

    with op.batch_alter_table('payment_payroll_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_payroll_lines_export_id'))
        batch_op.drop_index(batch_op.f('ix_payment_payroll_lines_claim_id'))

    op.drop_table('payment_payroll_lines')
