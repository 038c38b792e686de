"""SIMULATED: merchants and active buyers on a marketplace, by city and year.

No platform publishes city-level counts of its merchants and buyers, so this
panel is simulated to let students estimate a cross-side network effect: how
much the number of buyers rises when the number of merchants rises by 1%.

Model (all logs natural; city ``i``, year ``t = year - first year``)::

    size_i       ~ Normal(0, 0.8)                              city size (unobserved)
    log M_it     = 7.0 + size_i + 0.12 t + e_it,   e ~ N(0, 0.25)
    log B_it     = 4.0 + beta * log M_it + gamma * size_i + u_it,   u ~ N(0, 0.10)

``beta`` is the cross-side elasticity of buyers with respect to merchants
(default 0.6). Large cities have both more merchants and more buyers
(``gamma`` = 0.5), so a pooled regression of log buyers on log merchants
overstates ``beta``; comparing each city with itself over time (city fixed
effects) recovers it. Default seed 20201111; 60 cities, 2012-2021.

What identifies ``beta`` within a city: merchants move over time with a
trend and shocks ``e`` drawn independently of the buyers' shocks ``u``.
Nothing in the model lets buyers attract merchants. If they did (the other
cross-side effect, which the flywheel of lesson 01 section 6 assumes), a
buyer shock would raise merchants in the same year, and the within-city
slope would mix both effects: biased upwards (simultaneity). Real data
would also need year effects for shocks common to all cities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEED = 20201111


def generate(
    seed: int = SEED, n_cities: int = 60, first_year: int = 2012, n_years: int = 10, beta: float = 0.6, gamma: float = 0.5
) -> pd.DataFrame:
    """Return the panel: one row per city and year, counts rounded to whole numbers."""
    rng = np.random.default_rng(seed)
    size = rng.normal(0.0, 0.8, n_cities)
    t = np.arange(n_years)
    log_m = 7.0 + size[:, None] + 0.12 * t[None, :] + rng.normal(0.0, 0.25, (n_cities, n_years))
    log_b = 4.0 + beta * log_m + gamma * size[:, None] + rng.normal(0.0, 0.10, (n_cities, n_years))
    return pd.DataFrame(
        {
            "city": np.repeat([f"C{i + 1:02d}" for i in range(n_cities)], n_years),
            "year": np.tile(first_year + t, n_cities),
            "merchants": np.rint(np.exp(log_m)).astype(int).ravel(),
            "buyers": np.rint(np.exp(log_b) * 10).astype(int).ravel() * 100,
        }
    )
