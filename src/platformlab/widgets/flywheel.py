"""A two-sided flywheel: merchants attract buyers, buyers attract merchants.

Each period, each side grows at its own base rate plus its cross-side
elasticity times the other side's growth in the period before::

    g_B(t+1) = base_b + e_bm * g_M(t)
    g_M(t+1) = base_m + e_mb * g_B(t)

When ``e_bm * e_mb`` is below one, a one-off subsidy (a first push to buyer
growth) fades; at one or above it keeps feeding itself: the flywheel.
"""

from __future__ import annotations

import pandas as pd


def model(e_bm: float = 0.6, e_mb: float = 0.8, subsidy: float = 0.2, base_b: float = 0.02,
          base_m: float = 0.02, periods: int = 12) -> pd.DataFrame:
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


def explorer():
    """Sliders for the two elasticities and the subsidy, with the paths of both sides."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    def draw(e_bm, e_mb, subsidy):
        frame = model(e_bm=e_bm, e_mb=e_mb, subsidy=subsidy)
        index = frame.assign(buyers=frame.buyers / frame.buyers.iloc[0], merchants=frame.merchants / frame.merchants.iloc[0])
        long = index.melt(id_vars="period", value_vars=["buyers", "merchants"], var_name="side", value_name="index")
        fig, ax = plt.subplots(figsize=(7, 3.5))
        sns.lineplot(data=long, x="period", y="index", hue="side", marker="o", ax=ax)
        loop = e_bm * e_mb
        ax.set(yscale="log", ylabel="size (period 0 = 1, log scale)",
               title=f"feedback e_bm \u00d7 e_mb = {loop:.2f}: " + ("the flywheel feeds itself" if loop >= 1 else "the push fades"))
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        fig.tight_layout()
        plt.show()

    slider = dict(min=0.0, max=1.5, step=0.05, continuous_update=False)
    return widgets.interactive(
        draw,
        e_bm=widgets.FloatSlider(value=0.6, description="buyers \u2190 merchants", style={"description_width": "initial"}, **slider),
        e_mb=widgets.FloatSlider(value=0.8, description="merchants \u2190 buyers", style={"description_width": "initial"}, **slider),
        subsidy=widgets.FloatSlider(value=0.2, min=0.0, max=1.0, step=0.05, description="first-period subsidy",
                                    style={"description_width": "initial"}, continuous_update=False),
    )
