"""Failed-item triage and replay: list, show, stats, replay (processor or hub), discard, purge, export."""
