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
extra profit of cutting over not cutting in year ``t`` is discounted to year 0
at ``discount_rate`` a year, as lesson 02 discounts a customer's lifetime value::

    present value of year t's extra profit   (profit_cut_t - profit_nocut_t) / (1 + discount_rate) ** t

Its running total traces a J-curve: it dips while volume catches up and
recovers only if demand is elastic enough and scale lowers costs enough. The
cut pays back in the first year that running total of *discounted* extra
profit is above zero (with ``discount_rate=0`` the undiscounted payback).

What the model leaves out: rivals. The elasticity is the response of the
provider's own volume to its own price with rivals' prices held fixed (what a
randomised experiment on one provider's customers measures). When rivals match
the cut, as Tencent Cloud matched Alibaba Cloud's in 2023, fewer customers
switch and the volume gain is smaller than this elasticity implies.

Nothing here is estimated from data: every parameter is an assumption, so the
years to payback it shows are a consequence of the sliders, never evidence about
how long a real business takes.
"""

from __future__ import annotations

import pandas as pd


def model(
    cut: float = 0.3,
    elasticity: float = -2.0,
    unit_cost: float = 0.5,
    years: int = 12,
    growth: float = 0.15,
    adoption: float = 0.35,
    scale: float = 0.15,
    discount_rate: float = 0.10,
) -> pd.DataFrame:
    """Simulate ``years`` years after a cut, with and without it.

    Returns one row per year (0 to ``years``) and scenario (``"cut"``, ``"no cut"``) with
    price, volume, unit_cost, revenue, profit, margin and ``discount`` (the factor
    ``1 / (1 + discount_rate) ** year`` that brings the year's money to year 0).
    Year 0 is the last year before the cut. Does not draw anything.
    """
    if not 0 <= cut < 1:
        raise ValueError("cut is a share of the list price: 0 <= cut < 1")
    if discount_rate <= -1:
        raise ValueError("discount_rate is a yearly rate above -1 (0.1 = 10% a year)")
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
            rows.append(
                {
                    "year": year,
                    "scenario": scenario,
                    "price": price,
                    "volume": volume,
                    "unit_cost": cost,
                    "revenue": revenue,
                    "profit": profit,
                    "margin": profit / revenue,
                    "discount": 1 / (1 + discount_rate) ** year,
                }
            )
    return pd.DataFrame(rows)


def gain(frame: pd.DataFrame) -> pd.DataFrame:
    """Extra profit of cutting over not cutting, by year, and the J-curves.

    Columns: ``extra_profit`` (undiscounted), ``cumulative`` (its running total),
    ``present_value`` (the year's extra profit discounted to year 0) and
    ``cumulative_pv`` (the running total of present values: the discounted J-curve).
    """
    wide = frame.pivot(index="year", columns="scenario", values="profit")
    extra = wide["cut"] - wide["no cut"]
    factor = frame.drop_duplicates("year").set_index("year")["discount"] if "discount" in frame else 1.0
    present = extra * factor
    return pd.DataFrame(
        {"extra_profit": extra, "cumulative": extra.cumsum(), "present_value": present, "cumulative_pv": present.cumsum()}
    )


def payback_year(frame: pd.DataFrame, discounted: bool = True) -> int | None:
    """The first year in which the cut's cumulative extra profit is positive, or None within the horizon.

    Discounted (the running total of present values) unless ``discounted=False``.
    """
    cumulative = gain(frame)["cumulative_pv" if discounted else "cumulative"]
    positive = cumulative[cumulative > 1e-9]
    return int(positive.index[0]) if len(positive) else None


def draw(frame: pd.DataFrame):
    """Three panels: revenue, margin, and the J-curves of cumulative extra profit (discounted and not)."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    sns.lineplot(data=frame, x="year", y="revenue", hue="scenario", hue_order=["no cut", "cut"], marker="o", ax=axes[0])
    axes[0].set(ylabel="revenue (year 0 = 100)", title="revenue")
    sns.lineplot(
        data=frame, x="year", y="margin", hue="scenario", hue_order=["no cut", "cut"], marker="o", legend=False, ax=axes[1]
    )
    axes[1].axhline(0, color="black", linewidth=0.8)
    axes[1].set(ylabel="profit / revenue", title="margin")
    curve = gain(frame).reset_index()
    sns.lineplot(data=curve, x="year", y="cumulative_pv", marker="o", color="#1f4e79", label="discounted", ax=axes[2])
    sns.lineplot(
        data=curve, x="year", y="cumulative", marker=".", color="#999999", linestyle="--", label="undiscounted", ax=axes[2]
    )
    axes[2].axhline(0, color="black", linewidth=0.8)
    payback = payback_year(frame)
    axes[2].set(
        ylabel="cumulative extra profit (year-0 money)",
        title="J-curve: " + (f"discounted payback in year {payback}" if payback else "no discounted payback in this horizon"),
    )
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def explorer():
    """Sliders for the cut, the elasticity, the unit cost, the discount rate and the horizon, redrawing the three panels."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(cut, elasticity, unit_cost, discount_rate, years):
        draw(model(cut=cut, elasticity=elasticity, unit_cost=unit_cost, years=years, discount_rate=discount_rate))
        plt.show()

    style = {"description_width": "initial"}
    return widgets.interactive(
        show,
        cut=widgets.FloatSlider(
            value=0.3, min=0.0, max=0.9, step=0.05, description="price cut (share)", style=style, continuous_update=False
        ),
        elasticity=widgets.FloatSlider(
            value=-2.0, min=-3.0, max=-0.2, step=0.1, description="price elasticity", style=style, continuous_update=False
        ),
        unit_cost=widgets.FloatSlider(
            value=0.5,
            min=0.1,
            max=0.9,
            step=0.05,
            description="unit cost (share of list price)",
            style=style,
            continuous_update=False,
        ),
        discount_rate=widgets.FloatSlider(
            value=0.10, min=0.0, max=0.30, step=0.01, description="discount rate (per year)", style=style, continuous_update=False
        ),
        years=widgets.IntSlider(value=12, min=3, max=20, description="years", style=style, continuous_update=False),
    )
