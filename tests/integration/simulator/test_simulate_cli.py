"""`paysim simulate` and `paysim profiles` as a user runs them: exit codes, stdout, --json, files written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from cli_results import json_data
from jsonschema_rs import Draft202012Validator
from typer.testing import Result

from paysim_cli.errors import ExitCode
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.simulator.contract import event_schema

CliInvoker = Callable[..., Result]
START = "2025-11-28T23:58:00Z"  # runs cross the 00:00 window boundary
# The validator library the pipeline uses (pure-Python jsonschema took ~7 s for one run's 8,000 events).
VALIDATOR = Draft202012Validator(event_schema())


def _recount(path: Path) -> dict[str, Any]:
    """Count an NDJSON file the way the pipeline will: validate, drop duplicates, window the rest."""
    seen: dict[str, bytes] = {}
    windows: Counter[tuple[str, ...]] = Counter()
    amounts: Counter[tuple[str, ...]] = Counter()
    malformed = duplicates = late = 0
    latest = ""
    for line in path.read_bytes().splitlines():
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            malformed += 1
            continue
        if not VALIDATOR.is_valid(event):
            malformed += 1
            continue
        if event["transaction_id"] in seen:
            assert seen[event["transaction_id"]] == line  # a duplicate is the same bytes
            duplicates += 1
            continue
        seen[event["transaction_id"]] = line
        late += event["event_time"] < latest
        latest = max(latest, event["event_time"])
        moment = datetime.fromisoformat(event["event_time"])
        window = (
            datetime.fromtimestamp(moment.timestamp() // 300 * 300, UTC).isoformat().replace("+00:00", "Z")
        )
        key = (
            window,
            event["payment_type"],
            event["currency"],
            event["merchant"]["mcc"],
            event["channel"],
            event["status"],
        )
        windows[key] += 1
        amounts[key] += event["amount_minor"]
    return {
        "valid": len(seen),
        "malformed": malformed,
        "duplicates": duplicates,
        "out_of_order": late,
        "windows": {key: (windows[key], amounts[key]) for key in windows},
    }


def _manifest_windows(manifest: dict[str, Any]) -> dict[tuple[str, ...], tuple[int, int]]:
    return {
        (w["window_start"], w["payment_type"], w["currency"], w["mcc"], w["channel"], w["status"]): (
            w["count"],
            w["amount_minor_sum"],
        )
        for w in manifest["windows"]
    }


def _simulate_to_file(cli: CliInvoker, output: Path, *options: str) -> dict[str, Any]:
    base = ("simulate", "--profile", "chaos", "--seed", "11", "--start-time", START, "--output", str(output))
    return json_data(cli(*base, "--rate", "200000", "--count", "8000", "--json", *options))


def test_the_manifest_equals_a_recount_of_the_events_written(cli: CliInvoker, tmp_path: Path) -> None:
    report = _simulate_to_file(cli, tmp_path / "events.ndjson")
    assert report["run_id"] == "20251128T235800000Z-s11"
    assert (report["status"], report["sent"], report["failed"]) == ("completed", 8000, 0)
    assert set(report["latency_ms"]) == {"p50", "p95", "p99", "max"}
    assert report["target_rate"] == pytest.approx(200000)
    manifest = orjson.loads(Path(report["manifest"]).read_bytes())
    recount = _recount(tmp_path / "events.ndjson")
    totals = manifest["totals"]
    assert totals["delivered"] == 8000
    assert {name: totals[name] for name in ("valid", "malformed", "duplicates", "out_of_order")} == {
        name: recount[name] for name in ("valid", "malformed", "duplicates", "out_of_order")
    }
    assert _manifest_windows(manifest) == recount["windows"]
    assert {key[0] for key in recount["windows"]} >= {"2025-11-28T23:55:00Z", "2025-11-28T23:45:00Z"}
    assert totals["malformed"] > 0
    assert totals["duplicates"] > 0
    assert totals["out_of_order"] > 0
    assert report["injected"] == {name: totals[name] for name in ("malformed", "duplicates", "out_of_order")}


def test_same_seed_same_bytes_with_one_or_two_workers(
    cli: CliInvoker, tmp_path: Path, state_dir: Path
) -> None:
    _simulate_to_file(cli, tmp_path / "a.ndjson")
    (state_dir / "runs").rename(state_dir / "runs-a")
    _simulate_to_file(cli, tmp_path / "b.ndjson")
    assert (tmp_path / "a.ndjson").read_bytes() == (tmp_path / "b.ndjson").read_bytes()

    report = _simulate_to_file(
        cli, tmp_path / "w2.ndjson", "--workers", "2", "--start-time", "2025-11-29T00:00:00Z"
    )
    assert (report["workers"], report["sent"]) == (2, 8000)
    (state_dir / "runs").rename(state_dir / "runs-b")
    _simulate_to_file(
        cli, tmp_path / "w2-again.ndjson", "--workers", "2", "--start-time", "2025-11-29T00:00:00Z"
    )
    assert (tmp_path / "w2.ndjson").read_bytes() == (tmp_path / "w2-again.ndjson").read_bytes()
    manifest = orjson.loads(Path(report["manifest"].replace("/runs/", "/runs-b/")).read_bytes())
    recount = _recount(tmp_path / "w2.ndjson")
    assert manifest["totals"]["valid"] == recount["valid"]
    assert _manifest_windows(manifest) == recount["windows"]


def test_publishes_into_the_local_log(cli: CliInvoker, local_log: LocalEventLog) -> None:
    report = json_data(cli("simulate", "--rate", "20000", "--count", "4000", "--json"))
    assert (report["target"], report["sent"], report["failed"]) == ("local", 4000, 0)
    assert report["undelivered"] is None
    held = sum(
        local_log.partition_info(partition).last_enqueued_sequence_number + 1
        for partition in local_log.partition_ids()
    )
    assert held == 4000
    event = local_log.read("0", 0, 1)[0]
    assert event.partition_key == orjson.loads(event.body)["customer"]["id"]


def test_two_workers_publish_into_the_local_log(cli: CliInvoker, local_log: LocalEventLog) -> None:
    report = json_data(cli("simulate", "--rate", "20000", "--count", "6001", "--workers", "2", "--json"))
    assert (report["workers"], report["sent"], report["planned"]) == (2, 6001, 6001)
    held = sum(
        local_log.partition_info(p).last_enqueued_sequence_number + 1 for p in local_log.partition_ids()
    )
    assert held == 6001
    manifest = orjson.loads(Path(report["manifest"]).read_bytes())
    assert manifest["workers"] == 2
    assert manifest["totals"]["valid"] == 6001


def test_human_output_without_a_terminal_prints_progress_lines(
    cli: CliInvoker, local_log: LocalEventLog
) -> None:
    result = cli("simulate", "--rate", "5000", "--count", "500")
    assert result.exit_code == 0, result.output
    assert "achieved" in result.stderr
    assert "latency p50/p95/p99" in result.stderr
    assert "sent / planned" in result.stdout
    assert "500 / 500" in result.stdout


def test_without_a_local_log(cli: CliInvoker, state_dir: Path) -> None:
    result = cli("simulate", "--count", "10", "--json")
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert orjson.loads(result.stdout)["error"]["code"] == "hub_not_found"
    assert not (state_dir / "runs").exists()


def test_event_hubs_needs_a_connection(cli: CliInvoker) -> None:
    result = cli("simulate", "--target", "eventhub", "--count", "10", "--json")
    assert result.exit_code == ExitCode.CONFIG
    assert orjson.loads(result.stdout)["error"]["code"] == "eventhub_not_configured"


def test_invalid_options(cli: CliInvoker, tmp_path: Path) -> None:
    result = cli("simulate", "--start-time", "yesterday", "--json")
    assert result.exit_code == ExitCode.USAGE
    assert orjson.loads(result.stdout)["error"]["message"].startswith("--start-time:")
    result = cli("simulate", "--duration", "5", "--count", "5", "--output", str(tmp_path / "x"), "--json")
    assert orjson.loads(result.stdout)["error"]["code"] == "conflicting_options"


def test_a_broken_profile_is_one_error_with_file_line_and_field(cli: CliInvoker, tmp_path: Path) -> None:
    text = (
        (Path(__file__).parents[3] / "profiles" / "default.yaml")
        .read_text()
        .replace("count: 500000", "count: many")
    )
    line = text.splitlines().index("  count: many") + 1
    broken = tmp_path / "broken.yaml"
    broken.write_text(text)
    result = cli("simulate", "--profile", str(broken), "--json")
    assert result.exit_code == ExitCode.CONFIG
    error = orjson.loads(result.stdout)["error"]
    assert error["code"] == "invalid_profile"
    assert error["message"].startswith(f"{broken}:{line}: customers.count: Input should be a valid integer")
    result = cli("profiles", "validate", str(broken))
    assert result.exit_code == ExitCode.CONFIG
    assert f"{broken}:{line}: customers.count" in result.stderr


def test_profiles_list_show_validate(cli: CliInvoker) -> None:
    listed = json_data(cli("profiles", "list", "--json"))["profiles"]
    assert {profile["name"] for profile in listed} >= {"default", "black_friday", "fraud_burst", "chaos"}
    assert all(profile["valid"] for profile in listed)
    shown = json_data(cli("profiles", "show", "chaos", "--json"))
    assert shown["profile"]["faults"]["malformed_rate"] == 0.02
    assert shown["planned_events"] == 120_000
    human = cli("profiles", "show", "black_friday")
    assert human.exit_code == 0
    assert "peak 20,000 events/s" in human.stdout
    assert "ok  chaos" in cli("profiles", "validate", "chaos").stdout
    assert "black_friday" in cli("profiles", "list").stdout


def test_human_report_names_the_output_file(cli: CliInvoker, tmp_path: Path) -> None:
    result = cli("simulate", "--count", "300", "--rate", "100000", "--output", str(tmp_path / "e.ndjson"))
    assert result.exit_code == 0, result.output
    assert "events written to" in result.stdout
    assert "target / achieved" in result.stdout
