"""The checks `paysim health` runs, one module per box."""
