"""A Bass diffusion curve, and a month-by-month comparison of an open and a closed strategy.

In month ``t`` the new adopters are::

    n_t = (p + q * N_{t-1} / m) * (m - N_{t-1})

with ``N_{t-1}`` the adopters so far, ``m`` the market potential, ``p`` the
coefficient of innovation (adoption from outside: launches, announcements) and
``q`` the coefficient of imitation (adoption because others adopted: derivatives,
tutorials, word of mouth). A large ``q`` relative to ``p`` gives the S-curve:
slow at first, then fast, then saturating.

``strategies`` puts two Bass paths side by side: a closed family (each adopter
pays a fee profit) and an open one (each adopter brings cloud profit). In every
month it compares the open adoption with the break-even bar computed from the
closed adoption *of the same month*, and the two strategies' profit flows. The
training cost is the same under both strategies and drops out: the open strategy
earns from its first adopter, so its only cost in this model is an opportunity
cost, the months in which it earns less than selling access would have.
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


def strategies(open_bass: dict, closed_bass: dict, open_profit: float, closed_profit: float, months: int = 96) -> pd.DataFrame:
    """Month by month: adopters and profit of an open and a closed strategy.

    ``open_bass`` and ``closed_bass`` are dicts with ``p``, ``q`` and ``m`` (extra keys
    are ignored). ``open_profit`` is the yearly profit one open adopter brings
    (conversion x cloud spend x margin), ``closed_profit`` the yearly fee profit of
    one closed adopter. Columns: ``month``; ``open_adopters`` and ``closed_adopters``
    (cumulative at the end of the month); ``bar``, the open adopters needed in that
    month to earn what the closed strategy earns in it (closed adopters x
    closed_profit / open_profit; infinite if an open adopter brings nothing);
    ``open_profit`` and ``closed_profit``, the profit flow of the month (a twelfth of
    the yearly profit of the adopters so far); ``cumulative_difference``, open minus
    closed profit summed from month 1.
    """
    opened = model(open_bass["p"], open_bass["q"], open_bass["m"], months)["cumulative"].to_numpy()
    closed = model(closed_bass["p"], closed_bass["q"], closed_bass["m"], months)["cumulative"].to_numpy()
    frame = pd.DataFrame({"month": range(1, months + 1), "open_adopters": opened, "closed_adopters": closed})
    frame["bar"] = frame["closed_adopters"] * closed_profit / open_profit if open_profit > 0 else math.inf
    frame["open_profit"] = frame["open_adopters"] * open_profit / 12
    frame["closed_profit"] = frame["closed_adopters"] * closed_profit / 12
    frame["cumulative_difference"] = (frame["open_profit"] - frame["closed_profit"]).cumsum()
    return frame


def first_month(flags: pd.Series, months: pd.Series) -> int | None:
    """The first month in which ``flags`` is true, or None if it never is."""
    hit = months[flags.to_numpy()]
    return int(hit.iloc[0]) if len(hit) else None


def summary(paths: pd.DataFrame) -> dict:
    """When the open strategy earns more: in the month, and in total so far (None: not within the horizon)."""
    return {
        "first month open earns more": first_month(paths["open_profit"] >= paths["closed_profit"], paths["month"]),
        "first month open is ahead in total": first_month(paths["cumulative_difference"] >= 0, paths["month"]),
        "open earns more in the last month": bool(paths["open_profit"].iloc[-1] >= paths["closed_profit"].iloc[-1]),
    }


def explorer():
    """Sliders for the Bass parameters p, q and m."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    import seaborn as sns

    def draw(p, q, m_thousands, months):
        path = model(p=p, q=q, m=m_thousands * 1000, months=months)
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
        sns.lineplot(data=path, x="month", y="new", ax=left, color="#1f4e79")
        left.set(ylabel="new adopters in the month", title=f"peak near month {peak_month(p, q):.0f}")
        sns.lineplot(data=path, x="month", y="cumulative", ax=right, color="#ff6a00")
        right.axhline(m_thousands * 1000, color="#7f7f7f", linestyle=":")
        right.set(
            ylabel="adopters so far",
            ylim=(0, m_thousands * 1000 * 1.05),
            title="adopters so far, and the market potential m (dotted)",
        )
        fig.tight_layout()
        plt.show()

    style = {"description_width": "initial"}
    return widgets.interactive(
        draw,
        p=widgets.FloatSlider(
            value=0.008,
            min=0.001,
            max=0.05,
            step=0.001,
            readout_format=".3f",
            description="innovation p",
            style=style,
            continuous_update=False,
        ),
        q=widgets.FloatSlider(
            value=0.15, min=0.0, max=0.5, step=0.01, description="imitation q", style=style, continuous_update=False
        ),
        m_thousands=widgets.IntSlider(
            value=600,
            min=50,
            max=1500,
            step=50,
            description="market potential m (thousands)",
            style=style,
            continuous_update=False,
        ),
        months=widgets.IntSlider(value=48, min=12, max=120, step=6, description="months", style=style, continuous_update=False),
    )


def strategy_explorer(open_bass: dict | None = None, closed_bass: dict | None = None):
    """Sliders for the open family's Bass parameters (as multiples of the closed family's) and the profits.

    The closed family keeps ``closed_bass``; the sliders start at the multiples that
    ``open_bass`` implies (by default the parameters the simulated data assume), so a
    student can ask how much of the answer comes from those assumptions.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    import seaborn as sns

    from platformlab.simulate.developer_adoption import FAMILIES

    open_bass = open_bass or dict(zip("pqm", FAMILIES["open weights"]))
    closed_bass = closed_bass or dict(zip("pqm", FAMILIES["API only"]))

    def draw(m_multiple, q_multiple, p_multiple, conversion, spend, margin, fee, months):
        opened = {"p": closed_bass["p"] * p_multiple, "q": closed_bass["q"] * q_multiple, "m": closed_bass["m"] * m_multiple}
        paths = strategies(opened, closed_bass, conversion * spend * margin, fee, months)
        facts = summary(paths)
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
        sns.lineplot(data=paths, x="month", y="open_adopters", ax=left, color="#ff6a00", label="open adopters")
        if math.isfinite(paths["bar"].iloc[0]):
            sns.lineplot(
                data=paths,
                x="month",
                y="bar",
                ax=left,
                color="#7f7f7f",
                linestyle="--",
                label="bar: closed adopters x f / (c s g)",
            )
        left.set(ylabel="adopters so far", title="open adoption against the bar of the same month")
        long = paths.melt(id_vars="month", value_vars=["open_profit", "closed_profit"], var_name="strategy", value_name="profit")
        sns.lineplot(data=long, x="month", y="profit", hue="strategy", ax=right)
        ahead = facts["first month open earns more"]
        right.set(
            ylabel="profit in the month (yuan)",
            title=(
                f"open earns more from month {ahead}"
                if ahead and facts["open earns more in the last month"]
                else f"open earns more in month {ahead}, less at the end"
                if ahead
                else f"open never earns more within {months} months"
            ),
        )
        fig.tight_layout()
        plt.show()
        print(
            "long run: open pays if m_open / m_closed >= f / (c s g) = "
            + (f"{fee / (conversion * spend * margin):.2f}" if conversion * spend * margin > 0 else "infinity")
            + f"; here m_open / m_closed = {m_multiple:.2f}"
        )

    style = {"description_width": "initial"}

    def slider(value, low, high, step, description, fmt=".2f"):
        return widgets.FloatSlider(
            value=round(value, 2),
            min=low,
            max=high,
            step=step,
            readout_format=fmt,
            description=description,
            style=style,
            continuous_update=False,
        )

    return widgets.interactive(
        draw,
        m_multiple=slider(open_bass["m"] / closed_bass["m"], 0.25, 8.0, 0.25, "open m ÷ closed m"),
        q_multiple=slider(open_bass["q"] / closed_bass["q"], 0.25, 4.0, 0.05, "open q ÷ closed q"),
        p_multiple=slider(open_bass["p"] / closed_bass["p"], 0.25, 4.0, 0.05, "open p ÷ closed p"),
        conversion=slider(0.2, 0.0, 1.0, 0.01, "conversion c"),
        spend=widgets.IntSlider(
            value=6000, min=0, max=20000, step=500, description="cloud spend s (yuan/year)", style=style, continuous_update=False
        ),
        margin=slider(0.25, 0.0, 0.6, 0.01, "cloud margin g"),
        fee=widgets.IntSlider(
            value=600, min=0, max=3000, step=50, description="fee profit f (yuan/year)", style=style, continuous_update=False
        ),
        months=widgets.IntSlider(value=96, min=12, max=240, step=12, description="months", style=style, continuous_update=False),
    )
