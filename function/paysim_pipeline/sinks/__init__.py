"""Where a batch goes: PostgreSQL (aggregates, dedupe, checkpoints, failed items), Blob (raw events)."""
