"""`paysim hub info | send | peek` as a user runs them, on a real local event log in the test's state dir."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from paysim_cli.errors import ExitCode
from paysim_cli.hub import eventhubs
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.routing import partition_index_for_key
from paysim_cli.local.processes import free_port
from paysim_cli.settings import Settings


@pytest.fixture(autouse=True)
def dev_environment(tmp_path: Path) -> None:
    """paysim.toml naming a dev environment (only known environments are accepted)."""
    (tmp_path / "paysim.toml").write_text("[env.dev]\n", encoding="utf-8")


@pytest.fixture
def hub(settings: Settings) -> Path:
    """A 4-partition local log where `paysim local up` would create it."""
    LocalEventLog.create(settings.event_log_path, 4).close()
    return settings.event_log_path


def data(result) -> dict:
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)["data"]


def error(result, exit_code: ExitCode) -> dict:
    assert result.exit_code == exit_code, result.output
    return orjson.loads(result.stdout)["error"]


def test_hub_help_lists_the_verbs(cli) -> None:
    result = cli("hub", "--help")
    assert result.exit_code == 0
    for verb in ("info", "send", "peek"):
        assert verb in result.stdout


def test_info_without_a_log_says_how_to_create_it(cli) -> None:
    result = cli("hub", "info")
    assert result.exit_code == ExitCode.UNAVAILABLE
    assert result.stderr.startswith("error [hub_not_found]: no local event log at ")
    assert "hint: run paysim local up" in result.stderr
    assert error(cli("hub", "info", "--json"), ExitCode.UNAVAILABLE)["code"] == "hub_not_found"


def test_send_publishes_each_line_byte_for_byte(cli, hub: Path, tmp_path: Path) -> None:
    lines = [b'{"transaction_id":"t1"}', b"caf\xc3\xa9 \r", b"", b"\xff\xfe not utf-8", b"last, no newline"]
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(lines))

    sent = data(cli("hub", "send", "--file", str(source), "--partition", "2", "--json"))
    assert (sent["events"], sent["batches"], sent["by_partition"]) == (5, 1, {"2": 5})

    with LocalEventLog.open(hub) as log:
        assert [event.body for event in log.read("2", 0, 10)] == lines


def test_send_by_partition_key_lands_where_the_sdk_hash_says(cli, hub: Path, tmp_path: Path) -> None:
    source = tmp_path / "events.txt"
    source.write_text("a\nb\nc\n")
    sent = data(cli("hub", "send", "-f", str(source), "--partition-key", "merchant-42", "--json"))
    assert sent["by_partition"] == {str(partition_index_for_key("merchant-42", 4)): 3}


def test_send_round_robin_and_human_output(cli, hub: Path, tmp_path: Path) -> None:
    source = tmp_path / "events.txt"
    source.write_text("".join(f"event {number}\n" for number in range(8)))
    result = cli("hub", "send", "-f", str(source))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("sent 8 events in 4 batches to local hub ")
    assert "(by partition 0: 2, 1: 2, 2: 2, 3: 2)" in result.stdout


def test_send_reads_standard_input(cli, hub: Path) -> None:
    assert data(cli("hub", "send", "--file", "-", "--json", input="one\ntwo\n"))["events"] == 2


def test_send_option_errors(cli, hub: Path, tmp_path: Path) -> None:
    source = tmp_path / "events.txt"
    source.write_text("x\n")
    both = cli("hub", "send", "-f", str(source), "-k", "m", "--partition", "1", "--json")
    assert error(both, ExitCode.USAGE)["code"] == "conflicting_options"
    missing = cli("hub", "send", "-f", str(tmp_path / "nope.txt"), "--json")
    assert error(missing, ExitCode.CONFIG)["code"] == "file_unreadable"  # a bad input file
    unknown = cli("hub", "send", "-f", str(source), "--partition", "9", "--json")
    assert error(unknown, ExitCode.USAGE)["code"] == "unknown_partition"


def test_send_names_the_line_that_is_too_large(cli, hub: Path, tmp_path: Path) -> None:
    source = tmp_path / "events.txt"
    source.write_bytes(b"ok\n" + b"x" * (1024 * 1024 + 1) + b"\n")
    failure = error(cli("hub", "send", "-f", str(source), "--json"), ExitCode.CONFIG)
    assert failure["code"] == "event_too_large"
    assert failure["message"].startswith("line 2 (0 sent before it) has 1048577 bytes")


def test_info_shows_ranges_checkpoints_and_lag(cli, hub: Path, tmp_path: Path) -> None:
    source = tmp_path / "events.txt"
    source.write_text("".join(f"event {number}\n" for number in range(10)))
    cli("hub", "send", "-f", str(source), "--partition", "1")
    with LocalEventLog.open(hub) as log:
        log.checkpoint("pipeline", "1", 3, 24)

    report = data(cli("hub", "info", "--consumer-group", "pipeline", "--json"))
    assert (report["target"], report["consumer_group"], report["total_lag"]) == ("local", "pipeline", 6)
    partition = report["partitions"][1]
    assert partition["partition_id"] == "1"
    assert (partition["beginning_sequence_number"], partition["last_enqueued_sequence_number"]) == (0, 9)
    assert (partition["checkpoint_sequence_number"], partition["lag"], partition["is_empty"]) == (3, 6, False)
    assert report["partitions"][0]["lag"] == 0
    assert data(cli("hub", "info", "--json"))["total_lag"] == 10  # $Default has no checkpoint

    human = cli("hub", "info", "-g", "pipeline")
    assert human.exit_code == 0
    assert "consumer group pipeline" in human.stdout
    assert "total lag: 6" in human.stdout


def test_peek_positions_and_output(cli, hub: Path, tmp_path: Path) -> None:
    source = tmp_path / "events.txt"
    source.write_text("".join(f"event {number}\n" for number in range(6)))
    cli("hub", "send", "-f", str(source), "--partition", "0")

    def peeked(*options: str) -> list[tuple[str, int, str]]:
        events = data(cli("hub", "peek", "--json", "--wait", "0", *options))["events"]
        return [(event["partition_id"], event["sequence_number"], event["body"]) for event in events]

    assert peeked("--max", "2") == [("0", 0, "event 0"), ("0", 1, "event 1")]
    assert peeked("--from", "seq:4", "--partition", "0") == [("0", 4, "event 4"), ("0", 5, "event 5")]
    assert peeked("--from", "time:2000-01-01T00:00:00") == [("0", n, f"event {n}") for n in range(6)]
    assert peeked("--from", "end") == []
    assert peeked("--partition", "2") == []

    human = cli("hub", "peek", "--max", "1", "--wait", "0")
    assert human.exit_code == 0
    assert human.stdout.splitlines()[0].startswith("0/0 @")
    assert human.stdout.splitlines()[0].endswith("  event 0")
    assert "1 event from " in human.stdout


def test_peek_rejects_a_bad_position(cli, hub: Path) -> None:
    result = cli("hub", "peek", "--from", "yesterday")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("error [invalid_position]: invalid event position 'yesterday'")


def test_eventhub_target_without_configuration(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAYSIM_EVENTHUB_CONNECTION_STRING", "PAYSIM_EVENTHUB_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    # Outside --env local the hub verbs read Event Hubs unless told otherwise.
    failure = error(cli("--env", "dev", "hub", "info", "--json"), ExitCode.CONFIG)
    assert failure["code"] == "eventhub_not_configured"
    assert "for env dev" in failure["message"]


def test_eventhub_target_unreachable_is_one_line_with_the_key_masked(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real SDK client against an emulator connection string with nothing listening."""
    monkeypatch.setattr(eventhubs, "SDK_RETRIES", 0)
    connection = (
        f"Endpoint=sb://127.0.0.1:{free_port()};SharedAccessKeyName=RootManageSharedAccessKey;"
        "SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;"
    )
    environment = {"PAYSIM_EVENTHUB_CONNECTION_STRING": connection}
    result = cli("--env", "dev", "hub", "peek", "-t", "eventhub", env=environment)
    assert result.exit_code == ExitCode.EXTERNAL
    assert result.stderr.startswith(
        "error [eventhub_unavailable]: Event Hubs failed while listing partitions"
    )
    assert len(result.stderr.splitlines()) == 2  # the error and its hint, no traceback

    sent = cli(
        "--env", "dev", "hub", "send", "-t", "eventhub", "-f", "-", "--json", input="x\n", env=environment
    )
    assert error(sent, ExitCode.EXTERNAL)["code"] == "eventhub_unavailable"
    info = cli("--env", "dev", "hub", "info", "-t", "eventhub", "--json", env=environment)
    failure = error(info, ExitCode.EXTERNAL)
    assert "SAS_KEY_VALUE" not in info.stdout
    assert failure["code"] == "eventhub_unavailable"
