"""Whether a day or month bucket (its first day in `day` or `month`) had ended at now, as SQL for the
metric tables: a bucket still running is partial (docs/metrics.md §1)."""

DAY_ENDED = "timezone($timezone, (day + 1)::TIMESTAMP) <= $data_through::TIMESTAMPTZ"
MONTH_ENDED = "timezone($timezone, (month + INTERVAL 1 MONTH)::TIMESTAMP) <= $data_through::TIMESTAMPTZ"
