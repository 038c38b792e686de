"""SIMULATED: the users of a payment app, one row per user (lesson 02).

1,800 users in 12 monthly cohorts (first payment in January to December 2018),
observed to June 2020: the sign-up month, the month each first took a credit,
wealth or insurance product (empty if not by June 2020), and their credit and
wealth balances at the end of June 2020 (0 for users without the product or who
have left). The model and its parameters, and which of them are tied to real
Alipay figures, are in :mod:`platformlab.simulate._payment_app`; its activity
log is ``payment_activity``. Seed 20200825.
"""

from __future__ import annotations

import pandas as pd

from ._payment_app import SEED, simulate


def generate(seed: int = SEED, users_per_cohort: int = 150) -> pd.DataFrame:
    """Return the users table; other seeds or cohort sizes give other draws of the same model."""
    users, _ = simulate(seed, users_per_cohort)
    return users.copy()
