"""A two-sided flywheel: merchants attract buyers, buyers attract merchants.

Each period, each side grows at its own base rate plus its cross-side
elasticity times the other side's growth in the period before::

    g_B(t+1) = base_b + e_bm * g_M(t)
    g_M(t+1) = base_m + e_mb * g_B(t)

Both sides grow even without a subsidy (the base rates, amplified by the
loop), so the subsidy's own effect is the gap between the path with the push
and the same path without it (:func:`subsidy_effect`). The model is linear in
growth rates, so that gap in growth is exactly the echo of the push:
``e_bm * e_mb`` times smaller every two periods. When ``e_bm * e_mb`` is below
one, the extra growth dies away and the subsidy leaves a lasting but
bounded gain in size (the push fades); at one or above, the extra growth never
dies and the gain keeps growing: the flywheel.
"""

from __future__ import annotations

import pandas as pd


def model(
    e_bm: float = 0.6, e_mb: float = 0.8, subsidy: float = 0.2, base_b: float = 0.02, base_m: float = 0.02, periods: int = 12
) -> pd.DataFrame:
    """Simulate ``periods`` periods from 1,000 buyers and 100 merchants.

    ``subsidy`` is the extra buyer growth in the first period (0.2 = +20%).
    Returns one row per period with ``buyers``, ``merchants`` and both growth rates.
    """
    buyers, merchants = 1000.0, 100.0
    g_b, g_m = base_b + subsidy, base_m
    rows = []
    for period in range(periods + 1):
        rows.append({"period": period, "buyers": buyers, "merchants": merchants, "buyer_growth": g_b, "merchant_growth": g_m})
        buyers, merchants = buyers * (1 + g_b), merchants * (1 + g_m)
        g_b, g_m = base_b + e_bm * g_m, base_m + e_mb * g_b
    return pd.DataFrame(rows)


def subsidy_effect(
    e_bm: float = 0.6, e_mb: float = 0.8, subsidy: float = 0.2, base_b: float = 0.02, base_m: float = 0.02, periods: int = 12
) -> pd.DataFrame:
    """The subsidy's own effect: the path with the push against the same path without it.

    One row per period: ``buyers`` and ``merchants`` with the subsidy,
    ``buyers_without`` and ``merchants_without`` with ``subsidy=0``, the gain in
    size the subsidy caused (``buyers_gain``, ``merchants_gain``: 0.1 = 10% larger
    than without it) and the extra growth rates it caused (``extra_buyer_growth``,
    ``extra_merchant_growth``).
    """
    kwargs = dict(e_bm=e_bm, e_mb=e_mb, base_b=base_b, base_m=base_m, periods=periods)
    pushed, plain = model(subsidy=subsidy, **kwargs), model(subsidy=0.0, **kwargs)
    return pd.DataFrame(
        {
            "period": pushed["period"],
            "buyers": pushed["buyers"],
            "merchants": pushed["merchants"],
            "buyers_without": plain["buyers"],
            "merchants_without": plain["merchants"],
            "buyers_gain": pushed["buyers"] / plain["buyers"] - 1,
            "merchants_gain": pushed["merchants"] / plain["merchants"] - 1,
            "extra_buyer_growth": pushed["buyer_growth"] - plain["buyer_growth"],
            "extra_merchant_growth": pushed["merchant_growth"] - plain["merchant_growth"],
        }
    )


def verdict(e_bm: float, e_mb: float) -> str:
    """What the loop does to a one-off push, in words."""
    loop = e_bm * e_mb
    if loop >= 1:
        return "the subsidy's effect keeps growing: the flywheel feeds itself"
    return "the subsidy's effect levels off: the push fades"


def explorer():
    """Sliders for the two elasticities and the subsidy. Left: both sides with the subsidy (solid)
    and without it (dashed). Right: the subsidy's own effect, the gain in size over the no-subsidy path."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter

    colours = {"buyers": "tab:blue", "merchants": "tab:orange"}

    def draw(e_bm, e_mb, subsidy):
        frame = subsidy_effect(e_bm=e_bm, e_mb=e_mb, subsidy=subsidy)
        fig, (paths, gains) = plt.subplots(1, 2, figsize=(10, 3.8))
        for side, colour in colours.items():
            start = frame[side].iloc[0]
            paths.plot(frame.period, frame[side] / start, color=colour, marker="o", label=f"{side}, with subsidy")
            paths.plot(frame.period, frame[f"{side}_without"] / start, color=colour, linestyle="--", label=f"{side}, no subsidy")
            gains.plot(frame.period, frame[f"{side}_gain"], color=colour, marker="o", label=side)
        paths.set(yscale="log", xlabel="period", ylabel="size (period 0 = 1, log scale)", title="both paths grow anyway")
        paths.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        paths.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        paths.yaxis.set_minor_formatter(NullFormatter())
        paths.legend(fontsize="small")
        gains.axhline(0, color="grey", linewidth=0.8)
        gains.yaxis.set_major_formatter(PercentFormatter(1.0))
        gains.set(xlabel="period", ylabel="size gain over no subsidy", title="the subsidy's own effect")
        gains.legend(fontsize="small")
        fig.suptitle(f"feedback e_bm \u00d7 e_mb = {e_bm * e_mb:.2f}: " + verdict(e_bm, e_mb))
        fig.tight_layout()
        plt.show()

    slider = dict(min=0.0, max=1.5, step=0.05, continuous_update=False)
    return widgets.interactive(
        draw,
        e_bm=widgets.FloatSlider(
            value=0.6, description="buyers \u2190 merchants", style={"description_width": "initial"}, **slider
        ),
        e_mb=widgets.FloatSlider(
            value=0.8, description="merchants \u2190 buyers", style={"description_width": "initial"}, **slider
        ),
        subsidy=widgets.FloatSlider(
            value=0.2,
            min=0.0,
            max=1.0,
            step=0.05,
            description="first-period subsidy",
            style={"description_width": "initial"},
            continuous_update=False,
        ),
    )
