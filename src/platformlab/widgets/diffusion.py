"""A Bass diffusion curve: how fast developers adopt a model, and when adoption pays.

In month ``t`` the new adopters are::

    n_t = (p + q * N_{t-1} / m) * (m - N_{t-1})

with ``N_{t-1}`` the adopters so far, ``m`` the market potential, ``p`` the
coefficient of innovation (adoption from outside: launches, announcements) and
``q`` the coefficient of imitation (adoption because others adopted: derivatives,
tutorials, word of mouth). A large ``q`` relative to ``p`` gives the S-curve:
slow at first, then fast, then saturating.

A firm that gives a model away earns nothing until enough developers use it;
the explorer marks the month in which cumulative adoption first reaches a
break-even number of adopters.
"""

from __future__ import annotations

import math

import pandas as pd


def model(p: float = 0.008, q: float = 0.15, m: float = 600_000, months: int = 48) -> pd.DataFrame:
    """The deterministic Bass path for ``months`` months.

    Returns one row per month (1 to ``months``) with ``new`` adopters in the
    month and ``cumulative`` adopters at its end. Does not add noise.
    """
    cumulative, rows = 0.0, []
    for month in range(1, months + 1):
        new = (p + q * cumulative / m) * (m - cumulative)
        cumulative += new
        rows.append({"month": month, "new": new, "cumulative": cumulative})
    return pd.DataFrame(rows)


def peak_month(p: float, q: float) -> float:
    """The month in which new adoption peaks in the continuous Bass model, ln(q/p) / (p + q); 0 if q <= p."""
    return math.log(q / p) / (p + q) if q > p else 0.0


def months_to_reach(path: pd.DataFrame, adopters: float) -> int | None:
    """The first month whose cumulative adoption reaches ``adopters``, or None if it never does."""
    reached = path.loc[path["cumulative"] >= adopters, "month"]
    return int(reached.iloc[0]) if len(reached) else None


def explorer():
    """Sliders for p, q, the market potential and a break-even number of adopters."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    import seaborn as sns

    def draw(p, q, m_thousands, breakeven_thousands, months):
        path = model(p=p, q=q, m=m_thousands * 1000, months=months)
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
        sns.lineplot(data=path, x="month", y="new", ax=left, color="#1f4e79")
        left.set(ylabel="new adopters in the month", title=f"peak near month {peak_month(p, q):.0f}")
        sns.lineplot(data=path, x="month", y="cumulative", ax=right, color="#ff6a00")
        right.axhline(breakeven_thousands * 1000, color="#7f7f7f", linestyle="--")
        month = months_to_reach(path, breakeven_thousands * 1000)
        right.set(ylabel="adopters so far", ylim=(0, max(m_thousands, breakeven_thousands) * 1000 * 1.05),
                  title=f"break-even in month {month}" if month else f"no break-even within {months} months")
        fig.tight_layout()
        plt.show()

    style = {"description_width": "initial"}
    return widgets.interactive(
        draw,
        p=widgets.FloatSlider(value=0.008, min=0.001, max=0.05, step=0.001, readout_format=".3f",
                              description="innovation p", style=style, continuous_update=False),
        q=widgets.FloatSlider(value=0.15, min=0.0, max=0.5, step=0.01, description="imitation q", style=style,
                              continuous_update=False),
        m_thousands=widgets.IntSlider(value=600, min=50, max=1500, step=50, description="market potential m (thousands)",
                                      style=style, continuous_update=False),
        breakeven_thousands=widgets.IntSlider(value=300, min=0, max=1500, step=25,
                                              description="break-even adopters (thousands)", style=style,
                                              continuous_update=False),
        months=widgets.IntSlider(value=48, min=12, max=120, step=6, description="months", style=style,
                                 continuous_update=False),
    )
