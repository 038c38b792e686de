"""Figure defaults for the lessons, applied only when a notebook asks for them."""

from __future__ import annotations

import seaborn as sns

PALETTE = ["#ff6a00", "#1f4e79", "#7f7f7f", "#2ca02c", "#9467bd"]


def theme() -> None:
    """Apply the course's seaborn theme (call once at the top of a lesson).

    Importing :mod:`platformlab` never changes matplotlib settings; this does, on request.
    """
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
