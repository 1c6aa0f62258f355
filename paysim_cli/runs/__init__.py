"""Simulate runs as a concept of their own: where a run's files live (layout), what it delivered (manifest),
how it went second by second (series), the runs there are (catalog) and its HTML report (report). The
simulator and the local host write a run; `paysim verify`, `paysim runs` and the demo read it."""
