"""The local function host: `paysim pipeline run` feeds the local event log to the registered function."""
