"""SIMULATED: a randomised price experiment on a cloud platform's customers.

No cloud provider publishes customer-level usage at randomised prices, so this
experiment is simulated to let students estimate the price elasticity of demand
for cloud computing, segment by segment.

Design: each customer is offered, at random and with equal probability, one of
six discounts from the list price, ``d`` in {0, 10, 20, 30, 40, 50} percent (the
"up to 50%" of the source excerpt). The draw does not depend on the segment, so
within each segment price is independent of everything else about the customer.
Prices are an index (list price = 100); usage is in compute units per month.

Model (natural logs; customer ``i`` in segment ``s``)::

    price_i      = 100 * (1 - d_i / 100)
    log usage_i  = alpha_s + beta_s * log(price_i / 100) + u_i,    u ~ Normal(0, 0.6)

``beta_s`` is the segment's constant price elasticity of demand (the true values
the students try to recover) and ``exp(alpha_s)`` its typical usage at list price:

    segment      customers   beta_s   exp(alpha_s)
    startup        400        -1.8         150
    sme            400        -1.3       1,500
    enterprise     200        -0.6      30,000

Default seed 20240229 (the date of the February 2024 cut); usage is rounded to
whole compute units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEED = 20240229

#: segment: (customers, elasticity beta_s, usage at list price exp(alpha_s))
SEGMENTS = {
    "startup": (400, -1.8, 150.0),
    "sme": (400, -1.3, 1500.0),
    "enterprise": (200, -0.6, 30000.0),
}
DISCOUNTS_PCT = (0, 10, 20, 30, 40, 50)
NOISE_SD = 0.6


def generate(
    seed: int = SEED, segments: dict | None = None, discounts_pct: tuple = DISCOUNTS_PCT, noise_sd: float = NOISE_SD
) -> pd.DataFrame:
    """Return the experiment: one row per customer with segment, discount, price index and usage."""
    rng = np.random.default_rng(seed)
    frames = []
    number = 0
    for segment, (n, beta, base) in (segments or SEGMENTS).items():
        discount = rng.choice(np.asarray(discounts_pct), size=n)
        price = 100.0 * (1 - discount / 100)
        log_usage = np.log(base) + beta * np.log(price / 100) + rng.normal(0.0, noise_sd, n)
        frames.append(
            pd.DataFrame(
                {
                    "customer": [f"K{number + k + 1:04d}" for k in range(n)],
                    "segment": segment,
                    "discount_pct": discount.astype(int),
                    "price": np.round(price, 2),
                    "usage": np.maximum(np.rint(np.exp(log_usage)), 1).astype(int),
                }
            )
        )
        number += n
    return pd.concat(frames, ignore_index=True)
