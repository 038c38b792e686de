"""SIMULATED: the monthly activity of a payment app's users (lesson 02).

One row per user and calendar month in which the user made at least one payment,
January 2018 to June 2020: the number of payments and their value in RMB. A
month without a row is a month without payments (the user was dormant or had
left). The users, their cohorts and their financial products are in
``payment_users``; the model and its parameters are in
:mod:`platformlab.simulate._payment_app`. Seed 20200825.
"""

from __future__ import annotations

import pandas as pd

from ._payment_app import SEED, simulate


def generate(seed: int = SEED, users_per_cohort: int = 150) -> pd.DataFrame:
    """Return the activity log; other seeds or cohort sizes give other draws of the same model."""
    _, activity = simulate(seed, users_per_cohort)
    return activity.copy()
