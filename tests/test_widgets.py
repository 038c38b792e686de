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


def test_flywheel_subsidy_effect_is_against_the_no_subsidy_path():
    """Is the subsidy's effect measured against the same model without the subsidy, so base growth is not counted?"""
    frame = flywheel.subsidy_effect(e_bm=0.6, e_mb=0.8, subsidy=0.2, periods=12)
    plain = flywheel.model(e_bm=0.6, e_mb=0.8, subsidy=0.0, periods=12)
    assert list(frame.buyers_without) == list(plain.buyers) and list(frame.merchants_without) == list(plain.merchants)
    assert (frame.buyers_without.diff().dropna() > 0).all(), "without a subsidy both sides still grow"
    none = flywheel.subsidy_effect(subsidy=0.0)
    assert (none[["buyers_gain", "merchants_gain", "extra_buyer_growth"]].abs() < 1e-12).all().all()


def test_flywheel_subsidy_effect_levels_off_below_one_and_grows_at_one_or_more():
    """Below one the push's gain settles at a bounded level; at one or more it keeps growing."""
    fading = flywheel.subsidy_effect(e_bm=0.6, e_mb=0.8, subsidy=0.2, periods=60)
    assert fading.buyers_gain.iloc[-1] > 0.05 and abs(fading.buyers_gain.iloc[-1] - fading.buyers_gain.iloc[-3]) < 1e-6
    assert abs(fading.extra_buyer_growth.iloc[-2:]).max() < 1e-6
    assert "fades" in flywheel.verdict(0.6, 0.8)
    feeding = flywheel.subsidy_effect(e_bm=1.0, e_mb=1.0, subsidy=0.2, periods=20)
    assert feeding.buyers_gain.iloc[-1] > 2 * feeding.buyers_gain.iloc[10] > 0
    assert "feeds itself" in flywheel.verdict(1.0, 1.0)


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


def test_clv_default_product_margin_is_the_lessons_anchor():
    """Is the explorer's default product margin the net-margin anchor of lesson 02, rounded to the slider's step?"""
    import inspect

    from platformlab.widgets import clv

    anchor = clv.product_margin_anchor()
    # net profit H1 2020 / digital finance revenue, times that revenue per digital finance user per month
    assert abs(anchor - (21.234 / 45.972) * (45.972e3 / 729 / 6)) < 1e-9
    default = inspect.signature(clv.model).parameters["product_margin"].default
    assert abs(default - anchor) <= 0.25


def test_clv_model_matches_its_formula():
    """Does model() discount, retain and cross-sell as its docstring says?"""
    import numpy as np

    from platformlab.widgets import clv

    frame = clv.model(
        payment_margin=-0.5, product_margin=4.0, retention=0.9, cross_sell=0.1, annual_rate=0.2, signup_cost=3.0, months=5
    )
    t = np.arange(5)
    expected = 0.9**t * (-0.5 + (1 - 0.9**t) * 4.0) / 1.2 ** (t / 12)
    assert np.allclose(frame["value"], expected, rtol=0, atol=1e-12)
    assert abs(frame["cumulative"].iloc[-1] - (expected.sum() - 3.0)) < 1e-12


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


def test_price_cut_discounting_delays_payback():
    """Does discounting the extra profits (as lesson 02 discounts CLV) push payback later, never earlier?"""
    from platformlab.widgets import price_cut

    frame = price_cut.model(cut=0.3, elasticity=-2.0, unit_cost=0.5, years=15, discount_rate=0.10)
    assert price_cut.payback_year(frame) > price_cut.payback_year(frame, discounted=False)
    undiscounted = price_cut.gain(price_cut.model(discount_rate=0.0))
    assert (undiscounted["cumulative_pv"] - undiscounted["cumulative"]).abs().max() < 1e-9


def test_price_cut_explorer_has_a_discount_rate_slider():
    """Can the student move the discount rate in the price-cut explorer?"""
    from platformlab.widgets import price_cut

    widget = price_cut.explorer()
    descriptions = [child.description for child in widget.children if isinstance(child, ipywidgets.FloatSlider)]
    assert "discount rate (per year)" in descriptions


def test_strategies_compare_open_and_closed_in_the_same_month():
    """Is the bar set by the closed adopters of the same month, and does open earn from its first adopter?"""
    from platformlab.widgets import diffusion

    open_bass, closed_bass = {"p": 0.01, "q": 0.3, "m": 4_000}, {"p": 0.02, "q": 0.1, "m": 1_000}
    paths = diffusion.strategies(open_bass, closed_bass, open_profit=300, closed_profit=600, months=60)
    closed = diffusion.model(**closed_bass, months=60)["cumulative"]
    assert (abs(paths["bar"] - closed * 2) < 1e-9).all()
    assert (paths["open_profit"] > 0).all(), "the open strategy earns from its first adopter: it never loses money"
    assert abs(paths["open_profit"].iloc[0] - paths["open_adopters"].iloc[0] * 300 / 12) < 1e-9
    same = diffusion.strategies(closed_bass, closed_bass, open_profit=600, closed_profit=600, months=24)
    assert (abs(same["cumulative_difference"]) < 1e-6).all()
    assert diffusion.summary(same)["first month open earns more"] == 1


def test_strategies_never_pay_without_conversion_and_pay_with_a_large_enough_potential():
    """With no cloud profit per adopter the bar is infinite; with m_o/m_c above f/(csg) open ends ahead."""
    import math

    from platformlab.widgets import diffusion

    closed_bass = {"p": 0.012, "q": 0.07, "m": 150_000}
    none = diffusion.strategies({"p": 0.008, "q": 0.15, "m": 600_000}, closed_bass, open_profit=0, closed_profit=600)
    assert (none["bar"] == math.inf).all()
    assert diffusion.summary(none)["first month open earns more"] is None
    for multiple, wins in [(1.5, False), (2.5, True)]:
        opened = {"p": 0.008, "q": 0.15, "m": 150_000 * multiple}
        paths = diffusion.strategies(opened, closed_bass, open_profit=300, closed_profit=600, months=240)
        assert diffusion.summary(paths)["open earns more in the last month"] is wins


def test_strategy_explorer_starts_from_the_simulated_assumptions():
    """Do the open family's sliders start at the multiples the simulated data assume (4x m, about 2x q)?"""
    from platformlab.widgets import diffusion

    widget = diffusion.strategy_explorer()
    sliders = {child.description: child.value for child in widget.children if isinstance(child, ipywidgets.FloatSlider)}
    assert sliders["open m ÷ closed m"] == 4.0
    assert abs(sliders["open q ÷ closed q"] - 2.14) < 1e-9
    assert sliders["conversion c"] == 0.2
