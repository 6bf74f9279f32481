import pandas as pd

from kit.core.periods import add_months, period_end, period_label, period_start, previous_period_end


def test_quarter_and_month_labels():
    assert period_label("2026-09-30", "quarter") == "2026-Q3"
    assert period_label("2026-09-30", "month") == "2026-09"


def test_period_ends():
    assert period_end("2026-08-14", "quarter") == pd.Timestamp("2026-09-30")
    assert period_end("2024-02-03", "month") == pd.Timestamp("2024-02-29")  # leap year
    assert previous_period_end("2026-09-30", "quarter") == pd.Timestamp("2026-06-30")
    assert previous_period_end("2026-01-31", "quarter") == pd.Timestamp("2025-12-31")
    assert previous_period_end("2024-03-31", "month") == pd.Timestamp("2024-02-29")
    assert period_start("2026-09-30", "quarter") == pd.Timestamp("2026-07-01")


def test_add_months_clamps_to_month_end():
    assert add_months(pd.Timestamp("2024-01-31"), 1) == pd.Timestamp("2024-02-29")
    assert add_months(pd.Timestamp("2023-01-31"), 1) == pd.Timestamp("2023-02-28")
