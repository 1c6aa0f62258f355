"""The embedded local stack: PostgreSQL, Azurite and the local event log, under one state directory."""
