"""Do the interactive models behave as the lessons say?"""

from __future__ import annotations

import ipywidgets

from platformlab.widgets import flywheel


def test_flywheel_push_fades_below_one():
    """With e_bm * e_mb < 1, does a one-off subsidy's extra growth die away?"""
    path = flywheel.model(e_bm=0.5, e_mb=0.5, subsidy=0.5, periods=40)
    assert path.buyer_growth.iloc[0] > 0.5
    assert abs(path.buyer_growth.iloc[-1] - path.buyer_growth.iloc[-2]) < 1e-6
    assert path.buyer_growth.iloc[-1] < 0.1


def test_flywheel_feeds_itself_at_one_or_more():
    """With e_bm * e_mb >= 1, does growth keep up instead of fading?"""
    path = flywheel.model(e_bm=1.0, e_mb=1.2, subsidy=0.2, periods=20)
    assert path.buyer_growth.iloc[-1] >= path.buyer_growth.iloc[0]
    assert path.buyers.is_monotonic_increasing and path.merchants.is_monotonic_increasing


def test_flywheel_explorer_has_three_sliders():
    """Does the explorer offer sliders for both elasticities and the subsidy?"""
    widget = flywheel.explorer()
    sliders = [child for child in widget.children if isinstance(child, ipywidgets.FloatSlider)]
    assert [s.description for s in sliders] == ["buyers \u2190 merchants", "merchants \u2190 buyers", "first-period subsidy"]


def test_price_cut_pays_back_only_when_demand_is_elastic():
    """Does a cut pay back with elastic demand and never with inelastic demand?"""
    from platformlab.widgets import price_cut

    assert price_cut.payback_year(price_cut.model(cut=0.3, elasticity=-2.5, years=15)) is not None
    assert price_cut.payback_year(price_cut.model(cut=0.3, elasticity=-0.8, years=15)) is None


def test_price_cut_of_zero_changes_nothing():
    """Is cutting by 0% the same as not cutting?"""
    from platformlab.widgets import price_cut

    curve = price_cut.gain(price_cut.model(cut=0.0))
    assert curve["extra_profit"].abs().max() < 1e-9


def test_price_cut_rejects_an_impossible_cut():
    """Does a cut of 100% or more get a clear error?"""
    import pytest
    from platformlab.widgets import price_cut

    with pytest.raises(ValueError, match="share of the list price"):
        price_cut.model(cut=1.0)


def test_clv_is_zero_without_margins_and_rises_with_retention():
    """With no margins is lifetime value zero, and does better retention raise it?"""
    from platformlab.widgets import clv

    assert abs(clv.lifetime_value(payment_margin=0.0, product_margin=0.0)) < 1e-12
    assert clv.lifetime_value(retention=0.99) > clv.lifetime_value(retention=0.90) > 0


def test_clv_negative_payment_margin_needs_cross_sell():
    """Does a subsidised payment lose money unless financial products are sold?"""
    from platformlab.widgets import clv

    assert clv.lifetime_value(payment_margin=-1.0, cross_sell=0.0) < 0
    assert clv.lifetime_value(payment_margin=-1.0, cross_sell=0.10) > 0


def test_bass_curve_saturates_at_the_market_potential():
    """Does cumulative adoption rise to, and never past, the market potential m?"""
    from platformlab.widgets import diffusion

    path = diffusion.model(p=0.01, q=0.3, m=1_000, months=200)
    assert path.cumulative.is_monotonic_increasing
    assert 999 < path.cumulative.iloc[-1] <= 1_000 + 1e-9


def test_bass_peak_comes_later_with_less_imitation():
    """Does new adoption peak where ln(q/p)/(p+q) says, and later when q is smaller?"""
    import math

    from platformlab.widgets import diffusion

    assert abs(diffusion.peak_month(0.01, 0.3) - math.log(30) / 0.31) < 1e-12
    assert diffusion.peak_month(0.01, 0.1) > diffusion.peak_month(0.01, 0.3)
    assert diffusion.peak_month(0.2, 0.1) == 0
