"""Simulate runs as a concept of their own: where a run's files live, the runs there are, and whether
each was reconciled. The simulator writes a run; `paysim verify`, `paysim runs` and the demo read it."""
