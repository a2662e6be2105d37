"""payouts: paid means in the bank; stuck payouts; idempotency key age; reversals

Revision ID: 0018_payout_lifecycle
Revises: 0017_role_approvals
Create Date: 2026-12-05 00:00:00

Payouts get when they last moved (state_since: their last update), when their idempotency
key was first sent to Stripe (key_used_since: their last update, for payouts that were sent),
how much of the transfer Stripe took back, and the Stripe payout that carried it to the bank.
Stripe events record the connected account and what they did.

Claims being paid whose transfer Stripe already made are now "transferred" (in the member's
Stripe account): they become "paid" when Stripe's payout.paid arrives. Claims already "paid"
stay paid. Downgrading turns "transferred" claims back into "paying", and cancelled payouts
into failed ones (the older code knows no cancelled payouts).
"""
import sqlalchemy as sa
from alembic import op

import engage.db


# revision identifiers, used by Alembic.
revision = '0018_payout_lifecycle'
down_revision = '0017_role_approvals'
branch_labels = None
depends_on = None

REVERSED_WITHIN_AMOUNT = "amount_reversed_pence >= 0 AND amount_reversed_pence <= amount_pence"


def upgrade():
    with op.batch_alter_table('payment_payouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state_since', engage.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('key_used_since', engage.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('amount_reversed_pence', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('bank_payout_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_payouts_bank_payout_id'), ['bank_payout_id'],
                              unique=False)
        batch_op.create_check_constraint(batch_op.f('ck_payment_payouts_reversed_within_amount'),
                                         REVERSED_WITHIN_AMOUNT)
    op.execute("UPDATE payment_payouts SET state_since = updated_at")
    op.execute("UPDATE payment_payouts SET key_used_since = updated_at "
               "WHERE state <> 'pending' AND route = 'stripe'")
    with op.batch_alter_table('payment_payouts', schema=None) as batch_op:
        batch_op.alter_column('state_since', existing_type=engage.db.UTCDateTime(),
                              nullable=False)

    with op.batch_alter_table('payment_stripe_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=40), nullable=True))

    op.execute("UPDATE payment_claims SET state = 'transferred' WHERE state = 'paying' AND id IN "
               "(SELECT claim_id FROM payment_payouts WHERE state = 'sent')")


def downgrade():
    op.execute("UPDATE payment_claims SET state = 'paying' WHERE state = 'transferred'")
    op.execute("UPDATE payment_payouts SET state = 'failed', "
               "failure_reason = 'Cancelled before it was sent' WHERE state = 'cancelled'")

    with op.batch_alter_table('payment_stripe_events', schema=None) as batch_op:
        batch_op.drop_column('outcome')
        batch_op.drop_column('account')

    with op.batch_alter_table('payment_payouts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payment_payouts_reversed_within_amount'),
                                 type_='check')
        batch_op.drop_index(batch_op.f('ix_payment_payouts_bank_payout_id'))
        batch_op.drop_column('bank_payout_id')
        batch_op.drop_column('amount_reversed_pence')
        batch_op.drop_column('key_used_since')
        batch_op.drop_column('state_since')
