"""The command tree: one package per group, one module per verb. Commands parse, call a service, render."""
