"""SIMULATED: monthly developer adoption of two model families, one with open weights, one API-only.

No firm publishes how many developers adopt its models month by month, so this
data set is simulated to let students fit a diffusion curve. It is a
thought experiment, not a measurement: two comparable families of AI models,
launched in the same month, one released with open weights under a permissive
licence and one sold only through an API.

Model: the discrete Bass diffusion model. In month ``t`` (1, 2, ...) the expected
number of new adopters is::

    n_t = (p + q * N_{t-1} / m) * (m - N_{t-1})

where ``N_{t-1}`` is the number of adopters at the end of the month before
(``N_0 = 0``), ``m`` the market potential (everyone who will ever adopt),
``p`` the coefficient of innovation (adoption driven from outside, e.g.
announcements) and ``q`` the coefficient of imitation (adoption driven by
earlier adopters: derivatives, tutorials, word of mouth). The observed count is
``n_t`` times log-normal noise ``exp(e_t)``, ``e_t ~ N(0, 0.08)``, rounded to a
whole developer; the cumulative count adds up the observed counts.

Parameters (per month):

============  =====  =====  =========
family        p      q      m
============  =====  =====  =========
open weights  0.008  0.15   600,000
API only      0.012  0.07   150,000
============  =====  =====  =========

48 months, seed 20230803 (the day the first Qwen model was released).

What these parameters assume. They are the author's choices, not measurements,
and they build in the answer the lesson asks about: the open family gets four
times the market potential (600,000 against 150,000) and about twice the
imitation coefficient (0.15 against 0.07), and a lower innovation coefficient.
A fit to these data can only recover those assumptions; it cannot show that open
weights raise m or q. Students can simulate other worlds with
``generate(families={...})`` and the lesson's strategy explorer
(``platformlab.widgets.diffusion.strategy_explorer``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEED = 20230803
FAMILIES = {"open weights": (0.008, 0.15, 600_000), "API only": (0.012, 0.07, 150_000)}


def generate(
    seed: int = SEED, months: int = 48, noise: float = 0.08, families: dict[str, tuple[float, float, float]] | None = None
) -> pd.DataFrame:
    """Return one row per family and month: new and cumulative adopting developers.

    ``families`` maps a family name to its ``(p, q, m)``; by default ``FAMILIES``,
    the parameters of ``data/developer_adoption.csv``.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for family, (p, q, m) in (FAMILIES if families is None else families).items():
        cumulative, new = 0, []
        for _ in range(months):
            expected = (p + q * cumulative / m) * (m - cumulative)
            observed = int(np.rint(expected * np.exp(rng.normal(0.0, noise))))
            new.append(observed)
            cumulative += observed
        frames.append(
            pd.DataFrame(
                {
                    "family": family,
                    "month": np.arange(1, months + 1),
                    "new_developers": new,
                    "cumulative_developers": np.cumsum(new),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
