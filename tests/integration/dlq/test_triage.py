"""`paysim dlq list | show | stats` on failed items the real processor made: filters, keyset pages,
the payload shown safely, and one-line errors for bad filters and unknown ids."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import orjson
import pytest
from dlq_results import PROFILES, RUN_ID, data, error

from paysim_cli.errors import ExitCode
from paysim_cli.simulator.generator import EventGenerator, EventKind, MalformedKind
from paysim_cli.simulator.profile_store import load_profile

# The code each malformed kind the simulator injects (MalformedKind) must end under.
EXPECTED_CODES = {
    MalformedKind.NOT_JSON: "not_json",
    MalformedKind.MISSING_FIELD: "schema_violation",
    MalformedKind.WRONG_TYPE: "schema_violation",
    MalformedKind.BAD_EVENT_TIME: "schema_violation",
    MalformedKind.UNKNOWN_ENUM: "unknown_payment_type",
}


def _chaos_block(count: int, malformed_rate: float):
    profile = load_profile(PROFILES / "chaos.yaml")
    faults = profile.faults.model_copy(update={"malformed_rate": malformed_rate})
    generator = EventGenerator(
        profile.model_copy(update={"faults": faults}),
        seed=5,
        worker=0,
        run_id=RUN_ID,
        start_ms=int(time.time() * 1000) - 60_000,
    )
    return generator.block(0, np.arange(count) / 1000.0)


def test_every_malformed_kind_the_simulator_injects_is_found_by_its_code(cli, dlq_env, ingest) -> None:
    block = _chaos_block(300, malformed_rate=0.3)
    ingest(block.bodies, strict=False)
    injected = Counter(
        EXPECTED_CODES[MalformedKind(kind)]
        for kind, event_kind in zip(block.malformed_kind, block.kind, strict=True)
        if event_kind == EventKind.MALFORMED
    )
    assert {MalformedKind(kind) for kind in block.malformed_kind if kind >= 0} == set(MalformedKind)
    for code, count in injected.items():
        page = data(cli("dlq", "list", "--code", code, "--limit", "1000", "--json", env=dlq_env))
        assert len(page["items"]) == count, code
        assert {item["error_code"] for item in page["items"]} == {code}
        assert all(item["run_id"] == RUN_ID and item["status"] == "pending" for item in page["items"])
    everything = data(cli("dlq", "list", "--status", "all", "--limit", "1000", "--json", env=dlq_env))
    assert len(everything["items"]) == sum(injected.values())

    stats = data(cli("dlq", "stats", "--json", env=dlq_env))
    assert stats["total"] == stats["by_status"]["pending"] == sum(injected.values())
    assert {entry["error_code"]: entry["pending"] for entry in stats["by_code"]} == dict(injected)
    assert stats["oldest_pending"]["id"] == min(item["id"] for item in everything["items"])
    assert len(stats["last_day"]) == 24
    assert stats["last_day"][-1]["failed"] == sum(injected.values())  # all created this hour
    shown = cli("dlq", "stats", env=dlq_env)
    assert shown.exit_code == 0, shown.output
    assert "schema_violation" in shown.stdout
    assert "oldest pending: item" in shown.stdout


def test_list_pages_newest_first_by_keyset_and_filters_combine(cli, dlq_env, ingest) -> None:
    ingest([b"not json %d" % index for index in range(5)], partition="1", first=10)
    ingest([b"[1]", b"[2]"], partition="2", first=20)
    first = data(cli("dlq", "list", "--limit", "3", "--json", env=dlq_env))
    ids = [item["id"] for item in first["items"]]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == 3
    assert first["next_after_id"] == ids[-1]
    rest = data(cli("dlq", "list", "--limit", "3", "--after-id", str(ids[-1]), "--json", env=dlq_env))
    assert [item["id"] for item in rest["items"]] == sorted(set(range(1, 8)) - set(ids), reverse=True)[:3]
    last = data(cli("dlq", "list", "--limit", "3", "--after-id", "2", "--json", env=dlq_env))
    assert ([item["id"] for item in last["items"]], last["next_after_id"]) == ([1], None)

    both = data(
        cli(
            "dlq",
            "list",
            "--partition",
            "2",
            "--code",
            "not_an_object",
            "--stage",
            "decode",
            "--since",
            "1h",
            "--json",
            env=dlq_env,
        )
    )
    assert [(item["source_partition"], item["source_sequence_number"]) for item in both["items"]] == [
        ("2", 21),
        ("2", 20),
    ]
    assert data(cli("dlq", "list", "--until", "1h", "--json", env=dlq_env))["items"] == []
    assert data(cli("dlq", "list", "--status", "replayed", "--json", env=dlq_env))["items"] == []
    picked = data(cli("dlq", "list", "--id", "2", "--id", "6", "--json", env=dlq_env))
    assert [item["id"] for item in picked["items"]] == [6, 2]
    table = cli("dlq", "list", "--limit", "3", env=dlq_env)
    assert table.exit_code == 0, table.output
    assert f"more: --after-id {ids[-1]}" in table.stdout


def test_a_list_of_every_status_pages_in_id_order_across_statuses(cli, dlq_env, ingest) -> None:
    ingest([b"not json %d" % index for index in range(5)], partition="1", first=10)
    ingest([b"[1]", b"[2]"], partition="2", first=20)
    discarded = cli("dlq", "discard", "--id", "3", "--id", "6", "--reason", "test", "--json", env=dlq_env)
    assert data(discarded)["discarded"] == 2

    def page(*options: str) -> tuple[list[tuple[int, str]], int | None]:
        listed = data(cli("dlq", "list", "--status", "all", *options, "--json", env=dlq_env))
        return [(item["id"], item["status"]) for item in listed["items"]], listed["next_after_id"]

    assert page("--limit", "4") == ([(7, "pending"), (6, "discarded"), (5, "pending"), (4, "pending")], 4)
    assert page("--limit", "4", "--after-id", "4") == (
        [(3, "discarded"), (2, "pending"), (1, "pending")],
        None,
    )
    not_json = page("--code", "not_json")[0]
    assert [item_id for item_id, _ in not_json] == [5, 4, 3, 2, 1]
    assert page("--code", "not_an_object", "--id", "3")[0] == []


def test_show_prints_every_column_and_a_hostile_payload_inertly(cli, dlq_env, ingest, bodies) -> None:
    hostile = b'{"note": "[bold red]owned[/bold red] \x1b[2J\x1b]0;title\x07 \xe2\x80\xae txt", "x": 1'
    ingest([hostile, b"\xff\xfe not utf-8"], partition="3", first=7)
    (item_id,) = [
        item["id"] for item in data(cli("dlq", "list", "--code", "not_json", "--json", env=dlq_env))["items"]
    ]
    detail = data(cli("dlq", "show", str(item_id), "--json", env=dlq_env))
    assert detail["payload"]["encoding"] == "utf-8"
    assert detail["payload"]["content"].encode() == hostile
    assert (detail["source_partition"], detail["source_sequence_number"], detail["source_offset"]) == (
        "3",
        7,
        "7",
    )
    assert (detail["history"], detail["attempts"], detail["run_id"]) == ([], 1, RUN_ID)

    shown = cli("dlq", "show", str(item_id), env=dlq_env)
    assert shown.exit_code == 0, shown.output
    assert not {"\x1b", "\u202e", "\x07"} & set(shown.stdout)
    assert "[bold red]owned[/bold red] \\x1b[2J\\x1b]0;title\\x07 \\u202e txt" in shown.stdout
    assert f"payload: {len(hostile)} bytes, UTF-8 text" in shown.stdout

    (binary_id,) = [
        item["id"]
        for item in data(cli("dlq", "list", "--code", "invalid_utf8", "--json", env=dlq_env))["items"]
    ]
    binary = data(cli("dlq", "show", str(binary_id), "--json", env=dlq_env))["payload"]
    assert (binary["encoding"], binary["bytes"], binary["content"]) == ("base64", 12, "//4gbm90IHV0Zi04")


def test_a_long_payload_is_truncated_at_a_terminal_only(cli, dlq_env, ingest) -> None:
    ingest([b"x" * 10_000])
    piped = cli("dlq", "show", "1", env=dlq_env)
    assert piped.exit_code == 0, piped.output
    assert "x" * 10_000 in piped.stdout  # not a terminal: whole
    assert "--full shows all" not in piped.stdout


@pytest.mark.parametrize(
    ("args", "option", "fragment"),
    [
        (["list", "--code", "bogus"], "--code", "unknown error code 'bogus'; known: event_too_large"),
        (["list", "--stage", "bogus"], "--stage", "unknown stage 'bogus'"),
        (["list", "--since", "yesterday"], "--since", "valid datetime"),
        (["list", "--since", "1h", "--until", "2h"], "--until", "must be later than --since"),
        (["list", "--transaction-id", "42"], "--transaction-id", "UUID"),
        (["list", "--limit", "0"], "--limit", "must be 1 <= N <= 1,000, not 0"),
        (["list", "--limit", "5000"], "--limit", "must be 1 <= N <= 1,000, not 5000"),
        (["list", "--id", "0"], "--id", "ids start at 1"),
        (["replay", "--rate", "0"], "--rate", "must be 0 < N <= 1,000,000"),
        (["replay", "--batch-size", "9000"], "--batch-size", "must be 1 <= N <= 5,000"),
        (["replay", "--workers", "9"], "--workers", "must be 1 <= N <= 8"),
        (["discard", "--reason", " "], "--reason", "must say why"),
        (["purge", "--older-than", "soon", "--yes"], "--older-than", "is not a duration"),
    ],
)
def test_bad_filters_and_options_are_one_line_usage_errors(cli, dlq_env, args, option, fragment) -> None:
    result = cli("dlq", *args, env=dlq_env)
    assert result.exit_code == ExitCode.USAGE, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"error [invalid_option]: {option}: "), lines[0]
    assert fragment in lines[0], lines[0]
    assert lines[1] == f"hint: `paysim dlq {args[0]} --help` shows every option and its limits"
    assert error(cli("dlq", *args, "--json", env=dlq_env), ExitCode.USAGE)["code"] == "invalid_option"


@pytest.mark.parametrize(
    "args",
    [["replay", "--status", "replayed"], ["purge", "--older-than", "1d", "--status", "pending", "--yes"]],
)
def test_statuses_a_verb_may_not_act_on_are_not_among_its_choices(cli, dlq_env, args) -> None:
    result = cli("dlq", *args, env=dlq_env)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert result.stderr.startswith("error [usage_error]: Invalid value for '--status'")
    assert error(cli("dlq", *args, "--json", env=dlq_env), ExitCode.USAGE)["code"] == "usage_error"


@pytest.mark.parametrize(
    "args",
    [
        ["show", "99"],
        ["list", "--id", "1", "--id", "99"],
        ["replay", "--id", "99"],
        ["export", "--id", "99", "-o", "x"],
    ],
)
def test_unknown_ids_are_one_line_errors_with_a_hint(cli, dlq_env, dlq_settings, ingest, args) -> None:
    ingest([b"nope"])
    result = cli("dlq", *args, env=dlq_env)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert result.stderr.splitlines() == [
        "error [failed_item_not_found]: no failed item with id 99",
        "hint: `paysim dlq list --status all` shows the failed items and their ids",
    ]


def test_an_unmigrated_database_says_so(cli, database_url) -> None:
    result = cli("dlq", "list", "--database-url", database_url, "--json")
    assert error(result, ExitCode.CONFIG)["code"] == "schema_not_migrated"
    assert "paysim db migrate" in orjson.loads(result.stdout)["error"]["hint"]
