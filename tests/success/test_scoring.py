"""The arithmetic of a health score (success/scoring.py), against hand-computed values."""

from datetime import date, timedelta

import pytest

from success.models import Band, PaymentStatus, Stage
from success.scoring import (
    Part,
    Thresholds,
    band_for,
    change_reasons,
    combine,
    lifecycle_stage,
    linear_score,
    payment_score,
    round_score,
)

HIGHER_IS_BETTER = Thresholds(2, 20)  # usage frequency's defaults: active days
LOWER_IS_BETTER = Thresholds(5, 0.5)  # ticket load's defaults: tickets per seat


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(2, 0), (20, 100), (11, 50), (0, 0), (30, 100), (6.5, 25)],
)
def test_linear_score_higher_is_better_is_clamped(raw, expected):
    assert linear_score(raw, HIGHER_IS_BETTER) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(5, 0), (0.5, 100), (2.75, 50), (9, 0), (0, 100), (3, 100 * 2 / 4.5)],
)
def test_linear_score_lower_is_better_when_zero_mark_is_above_full_mark(raw, expected):
    assert linear_score(raw, LOWER_IS_BETTER) == pytest.approx(expected)


def test_payment_maps_each_status_to_its_score():
    scores = {"overdue_score": 30, "failed_score": 0}
    assert payment_score(PaymentStatus.CURRENT, **scores) == 100
    assert payment_score(PaymentStatus.OVERDUE, **scores) == 30
    assert payment_score(PaymentStatus.FAILED, **scores) == 0


def test_combine_is_the_weighted_mean():
    parts = {
        "usage_frequency": Part(11, 50.0, 20),
        "feature_depth": Part(4, 60.0, 15),
        "data_growth": Part(-10, 40 / 70 * 100, 10),
        "ticket_load": Part(3, 2 / 4.5 * 100, 15),
        "sla_breaches": Part(20, 100 / 3, 10),
        "payment": Part("overdue", 30.0, 10),
        "nps": Part(25, 75.0, 10),
        "csat": Part(75, 25 / 45 * 100, 10),
    }
    expected = (
        50 * 20
        + 60 * 15
        + 40 / 70 * 100 * 10
        + 2 / 4.5 * 100 * 15
        + 100 / 3 * 10
        + 30 * 10
        + 75 * 10
        + 25 / 45 * 100 * 10
    ) / 100
    assert combine(parts) == pytest.approx(expected)  # 50.77
    assert round_score(combine(parts)) == 51


def test_components_without_data_are_left_out_and_the_rest_rescaled_to_100():
    parts = {
        "usage_frequency": Part(20, 100.0, 20),
        "ticket_load": Part(0.5, 100.0, 15),
        "sla_breaches": Part(30, 0.0, 10),
        "payment": Part(None, None, 10),
        "nps": Part(None, None, 10),
        "csat": Part(None, None, 35),
    }
    # 20 + 15 + 10 = 45 points of weight have data: 100, 100 and 0 in those shares.
    assert combine(parts) == pytest.approx((100 * 20 + 100 * 15 + 0 * 10) / 45)
    assert round_score(combine(parts)) == 78


def test_no_component_with_data_and_weight_means_no_score():
    assert combine({"nps": Part(None, None, 50), "csat": Part(80, 70.0, 0)}) is None


def test_scores_round_half_up():
    assert [round_score(v) for v in (74.5, 59.5, 0.4, 99.99)] == [75, 60, 0, 100]


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (100, Band.HEALTHY),
        (75, Band.HEALTHY),
        (74, Band.AT_RISK),
        (60, Band.AT_RISK),
        (59, Band.CRITICAL),
        (0, Band.CRITICAL),
    ],
)
def test_default_bands(score, band):
    assert band_for(score, healthy_min=75, at_risk_min=60) == band


def test_bands_follow_the_desks_thresholds():
    assert band_for(74, healthy_min=70, at_risk_min=40) == Band.HEALTHY
    assert band_for(45, healthy_min=70, at_risk_min=40) == Band.AT_RISK
    assert band_for(39, healthy_min=70, at_risk_min=40) == Band.CRITICAL


DAY = date(2026, 3, 15)


@pytest.mark.parametrize(
    ("start", "renewal", "stage"),
    [
        (DAY, None, Stage.ONBOARDING),  # day 0
        (DAY - timedelta(days=29), None, Stage.ONBOARDING),  # day 29, the last
        (DAY - timedelta(days=30), None, Stage.STEADY),
        (DAY - timedelta(days=200), DAY + timedelta(days=90), Stage.RENEWAL),
        (DAY - timedelta(days=200), DAY, Stage.RENEWAL),  # the renewal day itself
        (DAY - timedelta(days=200), DAY + timedelta(days=91), Stage.STEADY),
        (DAY - timedelta(days=400), DAY - timedelta(days=1), Stage.STEADY),  # lapsed date
        # Both: a short contract in its first month is onboarding.
        (DAY - timedelta(days=5), DAY + timedelta(days=60), Stage.ONBOARDING),
    ],
)
def test_lifecycle_stage(start, renewal, stage):
    assert lifecycle_stage(DAY, start=start, renewal_date=renewal) == stage


def test_change_reasons_name_what_cost_the_points_biggest_fall_first():
    before = {
        "usage_frequency": {"score": 100.0, "weight": 50},
        "payment": {"score": 100.0, "weight": 30},
        "nps": {"score": 50.0, "weight": 20},
    }
    after = {
        "usage_frequency": {"score": 40.0, "weight": 50},
        "payment": {"score": 0.0, "weight": 30},
        "nps": {"score": 60.0, "weight": 20},
    }
    # 90 before, 32 after: the three changes add up to the 58 points lost.
    assert change_reasons(after, before) == [
        ("usage_frequency", -30.0),
        ("payment", -30.0),
        ("nps", 2.0),
    ]


def test_change_reasons_weigh_each_change_at_the_newer_days_weights():
    # A new stage brought new weights: payment counts 20 of 50 now, 10 of 50 before.
    before = {"payment": {"score": 100.0, "weight": 10}, "usage": {"score": 90.0, "weight": 40}}
    after = {"payment": {"score": 30.0, "weight": 20}, "usage": {"score": 90.0, "weight": 30}}
    assert change_reasons(after, before) == [("payment", -28.0)]  # (30 - 100) * 20 / 50


def test_a_component_without_data_on_either_day_is_no_reason():
    before = {"csat": {"score": 80.0, "weight": 50}, "nps": {"score": 40.0, "weight": 50}}
    after = {"csat": {"score": 70.0, "weight": 50}, "nps": {"score": None, "weight": 50}}
    assert change_reasons(after, before) == [("csat", -10.0)]  # CSAT alone carries 100%
    # The other way round, NPS has data on the newer day: CSAT counts half.
    assert change_reasons(before, after) == [("csat", 5.0)]
