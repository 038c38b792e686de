"""Customer lifetime value of a payment user who is later sold financial products.

A cohort of users starts paying in month 0. Each month a share ``1 - retention``
of the remaining customers leaves for good, and a share ``cross_sell`` of those
without a financial product takes one (credit, wealth or insurance: one product
stands for all three). Payments earn ``payment_margin`` per customer per month
(zero, or negative when the app subsidises them); a customer holding a product
earns ``product_margin`` more. Month ``t`` is worth, per user who signed up::

    S_t = retention ** t                              still a customer
    H_t = 1 - (1 - cross_sell) ** t                   holds a financial product
    m_t = payment_margin + H_t * product_margin       margin per customer
    v_t = S_t * m_t / (1 + annual_rate) ** (t / 12)   discounted to month 0

and the lifetime value over ``months`` months is ``sum(v_t) - signup_cost``.

Default values, RMB per user per month: payments make no profit, as the
lesson's excerpt says (they do bring in revenue: the margin is revenue minus
cost). ``product_margin`` is the margin a product holder brings in a month. Ant
Group publishes no margin by product, so the default, RMB 5, is a rough anchor
that the course makes from Ant's first half of 2020, with one definition used
both here and in lesson 02 (:func:`product_margin_anchor` computes it from the
course data):

    net margin  = net profit attributable to owners / digital finance revenue
                = RMB 21.234 bn / 45.972 bn, about 46%    (if payments and the
                  small innovation line made no profit at all)
    revenue per digital finance user per month
                = RMB 45.972 bn / 729 million users / 6 months, about RMB 10.5
    anchor      = net margin * revenue per user = about RMB 4.85, rounded to 5

(net profit and revenue: ``data/alipay_scale.csv`` and ``data/ant_revenue_mix.csv``,
source ``wongcw-2020``, the Sohu summary of the prospectus; users:
``data/alipay_scale.csv``, ``investorinsights-2020``). It is a *net* margin,
not the contribution margin that lifetime value needs: it is after fixed costs
(too low) and contains Ant's non-operating results and whatever payments lost
or made (either way). The retention, cross-sell and discount rates are
assumptions to move.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def model(
    payment_margin: float = 0.0,
    product_margin: float = 5.0,
    retention: float = 0.97,
    cross_sell: float = 0.04,
    annual_rate: float = 0.10,
    signup_cost: float = 0.0,
    months: int = 60,
) -> pd.DataFrame:
    """The month-by-month value of one signed-up user; ``cumulative`` ends at the lifetime value.

    Returns one row per month ``0 .. months - 1`` with ``survival``, ``holding``, ``margin``
    (per remaining customer), ``value`` (discounted, per signed-up user) and ``cumulative``
    (``signup_cost`` subtracted at month 0). Does not draw anything.
    """
    t = np.arange(int(months))
    survival = retention**t
    holding = 1.0 - (1.0 - cross_sell) ** t
    margin = payment_margin + holding * product_margin
    value = survival * margin / (1.0 + annual_rate) ** (t / 12.0)
    return pd.DataFrame(
        {
            "month": t,
            "survival": survival,
            "holding": holding,
            "margin": margin,
            "value": value,
            "cumulative": np.cumsum(value) - signup_cost,
        }
    )


def product_margin_anchor() -> float:
    """The course's anchor for ``product_margin`` (RMB per product holder per month), from the course data.

    Net profit attributable to Ant's owners in H1 2020 over the digital finance line's revenue (a net
    margin, assuming payments and the innovation line made no profit), times that line's revenue per
    digital finance user per month. Reads ``ant_revenue_mix`` and ``alipay_scale``; draws nothing.
    """
    from platformlab import data

    revenue = data.load("ant_revenue_mix").query("source == 'wongcw-2020' and period == 'H1 2020'")
    finance_revenue = float(revenue.loc[revenue["line"] == "digital_finance", "revenue_rmb_bn"].iloc[0])
    scale = data.load("alipay_scale").set_index(["metric", "period"])["value"]
    net_margin = float(scale[("ant_net_profit_attributable", "H1 2020")]) / finance_revenue
    users_mn = float(scale[("digital_finance_annual_active_users", "12 months to 30 Jun 2020")])
    return net_margin * finance_revenue * 1e3 / users_mn / 6


def lifetime_value(**parameters) -> float:
    """The lifetime value (RMB per signed-up user) that :func:`model` gives for these parameters."""
    return float(model(**parameters)["cumulative"].iloc[-1])


def explorer():
    """Sliders for margins, retention, cross-sell and discounting, with the cumulative value of a user."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    import seaborn as sns

    def draw(payment_margin, product_margin, retention, cross_sell, annual_rate, signup_cost, months):
        frame = model(payment_margin, product_margin, retention, cross_sell, annual_rate, signup_cost, months)
        clv = frame["cumulative"].iloc[-1]
        positive = frame.index[frame["cumulative"] > 0]
        payback = f"positive from month {frame['month'][positive[0]]}" if len(positive) and clv > 0 else "never positive"
        fig, ax = plt.subplots(figsize=(7, 3.5))
        sns.lineplot(data=frame, x="month", y="cumulative", ax=ax, color="#ff6a00")
        ax.axhline(0, color="grey", linewidth=1)
        ax.set(
            xlabel="months since the first payment",
            ylabel="cumulative value (RMB per user)",
            title=f"lifetime value RMB {clv:,.1f} per user; {payback}",
        )
        plt.show()

    style = {"description_width": "initial"}
    return widgets.interactive(
        draw,
        payment_margin=widgets.FloatSlider(
            value=0.0,
            min=-5.0,
            max=5.0,
            step=0.25,
            description="payment margin (RMB/month)",
            style=style,
            continuous_update=False,
        ),
        product_margin=widgets.FloatSlider(
            value=5.0,
            min=0.0,
            max=15.0,
            step=0.5,
            description="product margin (RMB/holder/month)",
            style=style,
            continuous_update=False,
        ),
        retention=widgets.FloatSlider(
            value=0.97,
            min=0.80,
            max=0.999,
            step=0.005,
            readout_format=".3f",
            description="monthly retention",
            style=style,
            continuous_update=False,
        ),
        cross_sell=widgets.FloatSlider(
            value=0.04,
            min=0.0,
            max=0.20,
            step=0.005,
            readout_format=".3f",
            description="cross-sell rate (per month)",
            style=style,
            continuous_update=False,
        ),
        annual_rate=widgets.FloatSlider(
            value=0.10, min=0.0, max=0.30, step=0.01, description="discount rate (per year)", style=style, continuous_update=False
        ),
        signup_cost=widgets.FloatSlider(
            value=0.0, min=0.0, max=100.0, step=5.0, description="sign-up subsidy (RMB)", style=style, continuous_update=False
        ),
        months=widgets.IntSlider(
            value=60, min=12, max=120, step=6, description="horizon (months)", style=style, continuous_update=False
        ),
    )
