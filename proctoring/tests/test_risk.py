import pytest

from proctoring.risk import EventWeighting, risk_score


def test_no_events_no_risk():
    assert risk_score([]) == 0


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (EventWeighting("medium", 30), 7.5),  # a 30 s absence
        (EventWeighting("high", 60), 20.0),  # two faces for a minute
        (EventWeighting("medium", 0), 5.0),  # one tab switch
        (EventWeighting("critical", 0), 20.0),  # an identity mismatch
        (EventWeighting("high", 3600), 60.0),  # duration counts up to five minutes only
    ],
)
def test_the_documented_examples(event, expected):
    assert risk_score([event]) == expected


def test_a_dismissed_alert_does_not_count_and_a_confirmed_one_counts_more():
    assert risk_score([EventWeighting("high", 0, "dismissed")]) == 0
    assert risk_score([EventWeighting("high", 0, "confirmed")]) == 15


def test_risk_is_capped_at_one_hundred():
    assert risk_score([EventWeighting("critical", 300)] * 10) == 100
