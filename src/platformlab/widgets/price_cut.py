"""A price-cut simulator: does extra volume, and the cheaper units that scale brings, pay for a cut?

A cloud provider cuts its price by ``cut`` (0.3 = 30%) at the start of year 1 and
compares the result with not cutting. Prices are shares of the old list price
(list price = 1). Without a cut, volume grows with the market at ``growth`` a
year from 100 units in year 0. With a cut, customers respond with a constant
price elasticity, but not at once: each year they close ``adoption`` of the gap
to the long-run volume::

    long-run volume multiplier   M   = (1 - cut) ** elasticity
    volume with the cut          V_t = V0_t * (1 + (M - 1) * (1 - (1 - adoption) ** t))
    volume without it            V0_t = 100 * (1 + growth) ** t

Unit cost starts at ``unit_cost`` (a share of the old list price) and falls as
volume grows (economies of scale, ``scale`` = the percent fall in unit cost for
a 1% rise in volume over year 0)::

    unit cost  c_t = unit_cost * (V_t / 100) ** (-scale)

Profit is ``(price - c_t) * V_t``; the margin is profit over revenue. The
cumulative extra profit of cutting over not cutting traces a J-curve: it dips
while volume catches up and recovers only if demand is elastic enough and
scale lowers costs enough. Nothing here is estimated from data: it is a model
to reason with.
"""

from __future__ import annotations

import pandas as pd


def model(cut: float = 0.3, elasticity: float = -2.0, unit_cost: float = 0.5, years: int = 12,
          growth: float = 0.15, adoption: float = 0.35, scale: float = 0.15) -> pd.DataFrame:
    """Simulate ``years`` years after a cut, with and without it.

    Returns one row per year (0 to ``years``) and scenario (``"cut"``, ``"no cut"``) with
    price, volume, unit_cost, revenue, profit and margin. Year 0 is the last year before the cut.
    """
    if not 0 <= cut < 1:
        raise ValueError("cut is a share of the list price: 0 <= cut < 1")
    multiplier = (1 - cut) ** elasticity
    rows = []
    for year in range(years + 1):
        base_volume = 100 * (1 + growth) ** year
        for scenario in ("no cut", "cut"):
            cutting = scenario == "cut" and year >= 1
            price = 1 - cut if cutting else 1.0
            volume = base_volume * (1 + (multiplier - 1) * (1 - (1 - adoption) ** year)) if cutting else base_volume
            cost = unit_cost * (volume / 100) ** (-scale)
            revenue = price * volume
            profit = (price - cost) * volume
            rows.append({"year": year, "scenario": scenario, "price": price, "volume": volume, "unit_cost": cost,
                         "revenue": revenue, "profit": profit, "margin": profit / revenue})
    return pd.DataFrame(rows)


def gain(frame: pd.DataFrame) -> pd.DataFrame:
    """Extra profit of cutting over not cutting, by year, and its running total (the J-curve)."""
    wide = frame.pivot(index="year", columns="scenario", values="profit")
    extra = wide["cut"] - wide["no cut"]
    return pd.DataFrame({"extra_profit": extra, "cumulative": extra.cumsum()})


def payback_year(frame: pd.DataFrame) -> int | None:
    """The first year in which the cut's cumulative extra profit is positive, or None within the horizon."""
    cumulative = gain(frame)["cumulative"]
    positive = cumulative[cumulative > 1e-9]
    return int(positive.index[0]) if len(positive) else None


def draw(frame: pd.DataFrame):
    """Three panels: revenue, margin, and the J-curve of cumulative extra profit."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    sns.lineplot(data=frame, x="year", y="revenue", hue="scenario", hue_order=["no cut", "cut"], marker="o", ax=axes[0])
    axes[0].set(ylabel="revenue (year 0 = 100)", title="revenue")
    sns.lineplot(data=frame, x="year", y="margin", hue="scenario", hue_order=["no cut", "cut"], marker="o",
                 legend=False, ax=axes[1])
    axes[1].axhline(0, color="black", linewidth=0.8)
    axes[1].set(ylabel="profit / revenue", title="margin")
    curve = gain(frame).reset_index()
    sns.lineplot(data=curve, x="year", y="cumulative", marker="o", color="#1f4e79", ax=axes[2])
    axes[2].axhline(0, color="black", linewidth=0.8)
    payback = payback_year(frame)
    axes[2].set(ylabel="cumulative extra profit", title="J-curve: " + (f"pays back in year {payback}" if payback else "no payback in this horizon"))
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def explorer():
    """Sliders for the cut, the elasticity, the unit cost and the horizon, redrawing the three panels."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(cut, elasticity, unit_cost, years):
        draw(model(cut=cut, elasticity=elasticity, unit_cost=unit_cost, years=years))
        plt.show()

    style = {"description_width": "initial"}
    return widgets.interactive(
        show,
        cut=widgets.FloatSlider(value=0.3, min=0.0, max=0.9, step=0.05, description="price cut (share)", style=style,
                                continuous_update=False),
        elasticity=widgets.FloatSlider(value=-2.0, min=-3.0, max=-0.2, step=0.1, description="price elasticity",
                                       style=style, continuous_update=False),
        unit_cost=widgets.FloatSlider(value=0.5, min=0.1, max=0.9, step=0.05, description="unit cost (share of list price)",
                                      style=style, continuous_update=False),
        years=widgets.IntSlider(value=12, min=3, max=20, description="years", style=style, continuous_update=False),
    )

