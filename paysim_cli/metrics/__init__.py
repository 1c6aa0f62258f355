"""The pipeline's metrics, read back: the latest windows, rule-derived metrics, merchant clusters."""
