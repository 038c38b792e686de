"""SIMULATED: the customers of a payment app, the model behind ``payment_users`` and ``payment_activity``.

No payment firm publishes its customers' histories, so lesson 02 studies a
simulated panel: 12 monthly cohorts of 150 users who made their first payment
in January to December 2018, followed to June 2020 (the end of the half-year
in Ant Group's 2020 prospectus). Two data sets come from one run of the model:
``payment_users`` (one row per user) and ``payment_activity`` (one row per user
and month with at least one payment).

The model builds in the "digital check-in" mechanism that lesson 02 discusses:
payments earn nothing, the payment history is data, and the data lets the app
sell credit, wealth and insurance products later. It therefore illustrates the
claim; it cannot test it.

Model, for user ``i`` of cohort ``c`` at age ``t`` (months since the first payment,
``t = 0`` in the sign-up month)::

    f_i  ~ LogNormal(-0.245, 0.7)                 appetite for financial products (mean 1)
    lam_i ~ Gamma(2, 10)                          payments per active month (mean 20)
    v_i  ~ LogNormal(log(690) - 0.5, 1.0)         RMB per payment (mean 690)

    t = 0: a customer, active, pays.
    t >= 1: a customer leaves for good with probability q_t:
            q_1 = 0.25 (many try the app once), q_t = 0.02 later,
            halved for a customer who holds a financial product;
            a remaining customer is active (pays) with probability 0.72,
            0.82 if they hold a financial product.
    adoption: a customer without product p takes it up in month t with probability
            h_p * f_i * min(1, t / 6),  h = credit 0.035, wealth 0.04, insurance 0.02
            (nothing in the sign-up month: the app first needs some months of data).
    an active month: payments = 1 + Poisson(lam_i - 1 if lam_i > 1 else 0),
            payment value = payments * v_i * LogNormal(-0.045, 0.3), whole RMB.
    balances at the end of June 2020, for customers who have not left:
            credit  ~ LogNormal(log(2300) - 0.5, 1.0) for holders of credit,
            wealth  ~ LogNormal(log(2000) - 0.5, 1.0) * 1.03 ** (months held) for holders of wealth products.

Where the parameters come from (real figures in ``data/alipay_scale.csv``):

- the activity probabilities are set so that the panel's monthly active users in
  June 2020 are about 0.7 of its annual active users (0.69 with the default seed),
  as Alipay's 711 million MAU were of its more than 1 billion annual active users;
- the adoption rates are set so that about three quarters of the panel's annual
  active users hold a financial product by June 2020 (0.75 with the default
  seed), close to Alipay's 729 million digital finance users out of more than
  1 billion annual active users;
- the mean payment value per active user-month, RMB 13,800, is Alipay's
  mainland payment volume (RMB 118 trillion in the year to June 2020) divided by
  711 million MAU and 12 months: that volume includes transfers and business
  payments, so it is large for a consumer;
- the mean credit balance, RMB 2,300, is Ant's consumer credit balance
  (RMB 1.7 trillion, June 2020) divided by its 729 million digital finance users.

Everything else (payments per month, leaving rates, the stickiness of product
holders, the growth of wealth balances, the six-month ramp) is an assumption of
the course, not a figure from a source. Seed 20200825 (the day Ant Group filed
its prospectus).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

SEED = 20200825
FIRST_COHORT = "2018-01"
N_COHORTS = 12
USERS_PER_COHORT = 150
END = "2020-06"
PRODUCTS = ("credit", "wealth", "insurance")
ADOPTION = {"credit": 0.035, "wealth": 0.04, "insurance": 0.02}
RAMP_MONTHS = 6
LEAVE_FIRST, LEAVE_LATER, HOLDER_LEAVE_FACTOR = 0.25, 0.02, 0.5
ACTIVE, ACTIVE_HOLDER = 0.72, 0.82
PAYMENTS_PER_MONTH = 20.0
VALUE_PER_PAYMENT_RMB = 690.0
CREDIT_BALANCE_RMB = 2300.0
WEALTH_BALANCE_RMB = 2000.0
WEALTH_GROWTH = 0.03


def _month_starts(first: str, count: int) -> pd.DatetimeIndex:
    return pd.period_range(first, periods=count, freq="M").to_timestamp()


@lru_cache(maxsize=4)
def simulate(
    seed: int = SEED, users_per_cohort: int = USERS_PER_COHORT, n_cohorts: int = N_COHORTS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the model once; return ``(users, activity)``. Cached: callers must not modify the frames."""
    rng = np.random.default_rng(seed)
    n_months = (pd.Period(END, freq="M") - pd.Period(FIRST_COHORT, freq="M")).n + 1
    months = _month_starts(FIRST_COHORT, n_months)
    n_users = users_per_cohort * n_cohorts
    cohort = np.repeat(np.arange(n_cohorts), users_per_cohort)
    appetite = rng.lognormal(-0.245, 0.7, n_users)
    intensity = rng.gamma(2.0, PAYMENTS_PER_MONTH / 2.0, n_users)
    ticket = rng.lognormal(np.log(VALUE_PER_PAYMENT_RMB) - 0.5, 1.0, n_users)

    first = {product: np.full(n_users, -1) for product in PRODUCTS}
    present = np.ones(n_users, dtype=bool)
    rows_user, rows_month, rows_payments, rows_value = [], [], [], []
    for month in range(n_months):
        age = month - cohort
        alive = present & (age >= 0)
        holder = np.zeros(n_users, dtype=bool)
        for product in PRODUCTS:
            holder |= first[product] >= 0
        # leaving, for customers past their sign-up month
        leave = np.where(age == 1, LEAVE_FIRST, LEAVE_LATER) * np.where(holder, HOLDER_LEAVE_FACTOR, 1.0)
        left = alive & (age >= 1) & (rng.random(n_users) < leave)
        present &= ~left
        alive &= ~left
        # cross-sell: the app needs months of payment data before it can sell
        ramp = np.clip(age / RAMP_MONTHS, 0.0, 1.0)
        for product in PRODUCTS:
            chance = np.clip(ADOPTION[product] * appetite * ramp, 0.0, 1.0)
            takes = alive & (first[product] < 0) & (rng.random(n_users) < chance)
            first[product][takes] = month
            holder |= takes
        active = alive & ((age == 0) | (rng.random(n_users) < np.where(holder, ACTIVE_HOLDER, ACTIVE)))
        payments = 1 + rng.poisson(np.maximum(intensity - 1.0, 0.0))
        value = payments * ticket * rng.lognormal(-0.045, 0.3, n_users)
        who = np.flatnonzero(active)
        rows_user.append(who)
        rows_month.append(np.full(who.size, month))
        rows_payments.append(payments[who])
        rows_value.append(np.rint(value[who]).astype(np.int64))

    ids = np.array([f"U{i + 1:04d}" for i in range(n_users)])
    held = {product: np.where(first[product] >= 0, n_months - first[product], 0) for product in PRODUCTS}
    credit = rng.lognormal(np.log(CREDIT_BALANCE_RMB) - 0.5, 1.0, n_users)
    wealth = rng.lognormal(np.log(WEALTH_BALANCE_RMB) - 0.5, 1.0, n_users) * (1 + WEALTH_GROWTH) ** held["wealth"]
    users = pd.DataFrame(
        {
            "user_id": ids,
            "cohort": months[cohort].strftime("%Y-%m-%d"),
        }
    )
    for product in PRODUCTS:
        users[f"first_{product}"] = [months[m].strftime("%Y-%m-%d") if m >= 0 else "" for m in first[product]]
    users["credit_balance_rmb"] = np.where(present & (held["credit"] > 0), np.rint(credit), 0).astype(np.int64)
    users["wealth_balance_rmb"] = np.where(present & (held["wealth"] > 0), np.rint(wealth), 0).astype(np.int64)

    user_index = np.concatenate(rows_user)
    month_index = np.concatenate(rows_month)
    activity = pd.DataFrame(
        {
            "user_id": ids[user_index],
            "month": months[month_index].strftime("%Y-%m-%d"),
            "payments": np.concatenate(rows_payments).astype(np.int64),
            "payment_value_rmb": np.concatenate(rows_value),
        }
    )
    activity = activity.iloc[np.lexsort((month_index, user_index))].reset_index(drop=True)
    return users, activity
