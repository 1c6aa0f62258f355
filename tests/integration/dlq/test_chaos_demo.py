"""After `paysim demo --profile chaos`, the DLQ shows the injected malformed events by code, a dry run
says they would all fail again, and the run still reconciles after they are replayed — as they are,
and then edited into valid payments."""

from __future__ import annotations

from pathlib import Path

import orjson
from dlq_results import data


def test_the_chaos_demo_failures_triage_and_replay_and_the_run_still_reconciles(cli, tmp_path: Path) -> None:
    try:
        demo = data(
            cli("demo", "--profile", "chaos", "--rate", "2000", "--duration", "3", "--seed", "4", "--json")
        )
        assert demo["reconciliation"]["passed"] is True
        failed = demo["failed"]
        assert failed > 0

        stats = data(cli("dlq", "stats", "--json"))
        assert stats["by_status"]["pending"] == failed
        codes = {entry["error_code"]: entry["pending"] for entry in stats["by_code"]}
        assert set(codes) == {"not_json", "schema_violation", "unknown_payment_type"}
        assert sum(codes.values()) == failed
        run_items = data(cli("dlq", "list", "--run-id", demo["run_id"], "--limit", "1000", "--json"))["items"]
        assert len(run_items) == failed

        dry_run = data(cli("dlq", "replay", "--dry-run", "--json"))
        assert (dry_run["matched"], dry_run["failed"], dry_run["processed"]) == (failed, failed, 0)
        assert {entry["error_code"]: entry["failed"] for entry in dry_run["by_code"]} == codes
        shown = cli("dlq", "replay", "--dry-run")
        assert shown.exit_code == 0, shown.output
        assert f"{failed} would fail again" in shown.stdout

        replay = data(cli("dlq", "replay", "--yes", "--json"))
        assert (replay["attempted"], replay["failed"]) == (failed, failed)
        verdict = data(cli("verify", demo["run_id"], "--json"))
        assert verdict["passed"] is True
        assert verdict["failed"] == failed

        # Fixed by hand: an unknown payment type becomes card where the payment has a card, else ach;
        # then each counts once in the metrics.
        exported, fixed = tmp_path / "items.ndjson", tmp_path / "fixed.ndjson"
        data(cli("dlq", "export", "--code", "unknown_payment_type", "--output", str(exported), "--json"))
        documents = [orjson.loads(line) for line in exported.read_bytes().splitlines()]
        for document in documents:
            payment = orjson.loads(document["payload"])
            payment["payment_type"] = "ach" if payment["card"] is None else "card"
            document["payload"] = orjson.dumps(payment).decode()
        fixed.write_bytes(b"".join(orjson.dumps(document) + b"\n" for document in documents))
        repaired = data(cli("dlq", "replay", "--from-file", str(fixed), "--yes", "--json"))
        assert (repaired["attempted"], repaired["processed"]) == (codes["unknown_payment_type"],) * 2
        verdict = data(cli("verify", demo["run_id"], "--json"))
        assert verdict["passed"] is True
        assert verdict["failed"] == failed  # what the run delivered: a repair is not the run's
    finally:
        cli("local", "down")
