"""Reconciliation: a simulate run's manifest against what the pipeline wrote for that run."""
