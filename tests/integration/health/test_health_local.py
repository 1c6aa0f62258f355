"""`paysim health` on the real local stack, healthy and with real faults: each check sees its box."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import orjson
import pytest
from health_stack import prepare_stack, running_pipeline, stack_env

from paysim_cli import migrations
from paysim_cli.health import CheckName, CheckStatus, HealthReport, HealthRequest, run_checks, wait_healthy
from paysim_cli.local.azurite import Azurite
from paysim_cli.local.postgres import EmbeddedPostgres
from paysim_cli.local.processes import free_port
from paysim_cli.local.state import azurite_connection_string, ensure_postgres_password, postgres_url
from paysim_cli.migrations.script import default_sql_dir, load_scripts
from paysim_cli.settings import Settings
from paysim_pipeline.config import PipelineConfig
from paysim_pipeline.processor import BatchProcessor, IncomingEvent


def _checks(report: HealthReport) -> dict[str, CheckStatus]:
    return {check.name.value: check.status for check in report.checks}


def _report(result) -> dict:
    document = orjson.loads(result.stdout)
    return document["data"] if "data" in document else document["error"]["report"]


def test_a_healthy_stack_exits_0_with_every_check_ok(cli, stack_settings: Settings) -> None:
    with running_pipeline(stack_settings):
        result = cli("health", "--json", env=stack_env(stack_settings))
        people = cli("health", env=stack_env(stack_settings))

    assert result.exit_code == 0, result.output
    report = _report(result)
    assert report["healthy"] is True
    assert {check["name"]: check["status"] for check in report["checks"]} == {
        "hub": "ok",
        "lag": "ok",
        "freshness": "ok",
        "database": "ok",
        "migrations": "ok",
        "blob": "ok",
        "function": "ok",
        "dead_letter": "ok",
    }
    function = next(check for check in report["checks"] if check["name"] == "function")
    assert function["details"]["workers_alive"] == 1
    assert function["details"]["partitions_owned"] == 4
    assert "no release deployed" in function["details"]["release"]
    assert people.exit_code == 0, people.output
    assert "paysim health (local): healthy" in people.stdout


def test_under_github_actions_a_failing_check_annotates_and_writes_the_step_summary(
    cli, stack_settings: Settings, tmp_path: Path
) -> None:
    summary = tmp_path / "step-summary.md"
    env = stack_env(stack_settings) | {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}

    # No pipeline runs: the function check fails for real, the others pass.
    result = cli("health", "--json", env=env)

    assert result.exit_code == 11, result.output
    error = orjson.loads(result.stdout)["error"]
    assert error["code"] == "unhealthy"
    assert "::error title=paysim health%3A function fail::no pipeline worker is consuming $Default" in (
        result.stderr
    )
    assert (
        "::error title=paysim%3A unhealthy::the local pipeline is not healthy: function fail" in result.stderr
    )
    table = summary.read_text()
    assert "### paysim health (local): **not healthy**" in table
    assert "| function | FAIL | 0 workers, 0/4 partitions |" in table
    assert "| blob | OK | writable |" in table


def test_postgresql_stopped_fails_the_database_check_and_the_others_still_report(
    settings: Settings, blob_connection_string: str, tmp_path: Path
) -> None:
    password = ensure_postgres_password(tmp_path)
    server = EmbeddedPostgres(tmp_path / "postgres", password)
    port = free_port()
    server.start(port)
    try:
        stack = prepare_stack(
            settings.override(
                database_url=postgres_url(port, password),
                blob_connection_string=blob_connection_string,
                raw_events_container=f"raw-{uuid.uuid4().hex[:12]}",
            )
        )
        assert run_checks(stack, HealthRequest(checks=(CheckName.DATABASE,))).healthy
    finally:
        server.stop()  # the fault: PostgreSQL is down

    report = run_checks(stack, HealthRequest())

    assert not report.healthy
    statuses = _checks(report)
    assert statuses["database"] is CheckStatus.FAIL
    database = next(check for check in report.checks if check.name is CheckName.DATABASE)
    assert database.details["error_code"] == "database_unreachable"
    assert database.hint
    assert "paysim local status" in database.hint
    assert (statuses["hub"], statuses["blob"], statuses["freshness"]) == (CheckStatus.OK,) * 3
    assert (statuses["migrations"], statuses["dead_letter"]) == (CheckStatus.UNKNOWN,) * 2
    lag = next(check for check in report.checks if check.name is CheckName.LAG)
    assert lag.status is CheckStatus.WARN
    assert "counted from the host's checkpoints" in lag.message
    assert lag.details["checkpoint_source"] == "hub"


def test_azurite_stopped_fails_blob_and_wait_healthy_returns_once_it_is_back(
    settings: Settings, migrated_database_url: str, tmp_path: Path
) -> None:
    azurite = Azurite(tmp_path / "azurite")
    state = azurite.start(free_port())
    stack = prepare_stack(
        settings.override(
            database_url=migrated_database_url,
            blob_connection_string=azurite_connection_string(state.port),
            raw_events_container="raw-events",
        ),
        migrate=False,
    )
    try:
        Azurite.stop(state)  # the fault
        blob_only = HealthRequest(checks=(CheckName.BLOB, CheckName.HUB))
        down = run_checks(stack, blob_only)
        assert _checks(down) == {"hub": CheckStatus.OK, "blob": CheckStatus.FAIL}
        assert down.checks[1].details["error_code"] == "blob_unavailable"

        reports: list[HealthReport] = []
        first_seen = threading.Event()
        waited: list[HealthReport] = []

        def on_report(report: HealthReport) -> None:
            reports.append(report)
            first_seen.set()

        waiter = threading.Thread(
            target=lambda: waited.append(
                wait_healthy(stack, blob_only, timeout=120, interval=0.2, on_report=on_report)
            )
        )
        waiter.start()
        assert first_seen.wait(60)
        repaired_at = time.monotonic()
        state = azurite.start(state.port)  # the repair: same port, same data
        waiter.join(150)
        returned_after = time.monotonic() - repaired_at
    finally:
        Azurite.stop(state)

    assert waited
    assert waited[0].healthy
    assert not reports[0].healthy
    assert reports[-1].healthy
    # It returned on the first healthy poll, long before its time-out (timings are not asserted closer).
    assert returned_after < 120
    assert sum(report.healthy for report in reports) == 1


def test_a_stopped_pipeline_under_load_grows_the_lag_and_fails_freshness(
    stack_settings: Settings, publish_payments
) -> None:
    with running_pipeline(stack_settings):
        publish_payments(500)
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            publish_payments(200)
            time.sleep(0.05)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    try:
        time.sleep(1.5)
        report = run_checks(
            stack_settings,
            HealthRequest(
                checks=(CheckName.LAG, CheckName.FRESHNESS, CheckName.FUNCTION),
                thresholds={
                    "freshness_warn_seconds": 0.5,
                    "freshness_fail_seconds": 1,
                    "lag_sample_seconds": 0.5,
                },
            ),
        )
    finally:
        stop.set()
        loader.join()

    statuses = _checks(report)
    lag = report.checks[0]
    assert lag.details["lag"] > 0
    assert lag.details["trend_per_second"] > 0
    assert lag.details["checkpoint_source"] == "database"
    assert statuses["freshness"] is CheckStatus.FAIL
    assert report.checks[1].details["oldest_wait_seconds"] >= 1
    assert statuses["function"] is CheckStatus.FAIL
    assert not report.healthy


def test_a_pending_migration_warns_and_strict_makes_it_unhealthy(cli, stack_settings: Settings) -> None:
    migrations.downgrade(stack_settings, steps=1)

    result = cli("health", "--check", "migrations", "--json", env=stack_env(stack_settings))
    strict = cli("health", "--check", "migrations", "--strict", "--json", env=stack_env(stack_settings))

    assert result.exit_code == 0, result.output
    (check,) = _report(result)["checks"]
    latest = load_scripts(default_sql_dir())[-1].version  # the one rolled back
    assert (check["status"], check["details"]["pending"]) == ("warn", [latest])
    assert "paysim db migrate" in check["hint"]
    assert strict.exit_code == 11
    assert orjson.loads(strict.stdout)["error"]["report"]["strict"] is True


def test_100_new_failed_items_warn_or_fail_by_threshold(cli, stack_settings: Settings) -> None:
    config = PipelineConfig(
        database_url=str(stack_settings.database_url),
        blob_connection_string=stack_settings.blob_connection_string,
        raw_events_container=stack_settings.raw_events_container,
    )
    processor = BatchProcessor(config)
    try:
        outcome = processor.process(
            [IncomingEvent(b"not json %d" % number, number) for number in range(100)], "0", "$Default"
        )
    finally:
        processor.close()
    assert outcome.failed == 100
    env = stack_env(stack_settings)

    default = cli("health", "--check", "dead_letter", "--json", env=env)
    failing = cli(
        "health", "--check", "dead_letter", "--threshold", "dead_letter_rate_fail=15", "--json", env=env
    )
    relaxed = cli(
        "health",
        "--check",
        "dead_letter",
        "--threshold",
        "dead_letter_pending_warn=101",
        "--threshold",
        "dead_letter_rate_warn=21",
        "--json",
        env=env,
    )

    assert default.exit_code == 0, default.output
    (check,) = _report(default)["checks"]
    assert check["status"] == "warn"
    assert (check["details"]["pending"], check["details"]["new_in_window"]) == (100, 100)
    assert check["details"]["rate_per_minute"] == 20
    assert failing.exit_code == 11
    assert _report(failing)["checks"][0]["status"] == "fail"
    assert relaxed.exit_code == 0
    assert _report(relaxed)["checks"][0]["status"] == "ok"


def test_check_selects_checks_and_a_stray_number_or_threshold_is_a_usage_error(cli, stack_settings) -> None:
    env = stack_env(stack_settings)

    some = cli("health", "--check", "blob", "--check", "hub", "--json", env=env)
    stray = cli("health", "5", env=env)
    unknown = cli("health", "--check", "disk", env=env)
    bad = cli("health", "--threshold", "lag=1", "--json", env=env)

    assert some.exit_code == 0, some.output
    assert [check["name"] for check in _report(some)["checks"]] == ["hub", "blob"]
    assert stray.exit_code == 2
    assert "--watch" in stray.stderr
    assert unknown.exit_code == 2
    assert bad.exit_code == 2
    assert orjson.loads(bad.stdout)["error"]["code"] == "invalid_threshold"


def test_watch_prints_a_report_per_refresh_until_interrupted(
    cli, stack_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import paysim_cli.health.service as service

    naps: list[float] = []

    def sleep(seconds: float) -> None:  # the second refresh is interrupted, as Ctrl-C would
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(service.time, "sleep", sleep)
    result = cli("health", "--watch", "0.5", "--check", "hub", "--json", env=stack_env(stack_settings))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all(orjson.loads(line)["data"]["checks"][0]["name"] == "hub" for line in lines)
    assert all(0 <= nap <= 0.5 for nap in naps)


def test_probe_times_a_canary_no_metric_counts_and_a_concurrent_run_still_reconciles(
    cli, stack_settings: Settings
) -> None:
    import psycopg

    env = stack_env(stack_settings)
    probes: list[HealthReport] = []
    with running_pipeline(stack_settings):

        def probe_during_the_run() -> None:
            time.sleep(1.0)  # the simulate run below is sending by now
            probes.append(run_checks(stack_settings, HealthRequest(checks=(CheckName.HUB,), probe=True)))

        prober = threading.Thread(target=probe_during_the_run)
        prober.start()
        simulated = cli("simulate", "--rate", "1000", "--duration", "3", "--json", env=env)
        prober.join(60)
        drained = wait_healthy(
            stack_settings,
            # Strict: a single event behind is a warning, and the run is verified only once none is.
            HealthRequest(checks=(CheckName.LAG,), strict=True, thresholds={"lag_warn": 1, "lag_fail": 1e9}),
            timeout=60,
            interval=0.2,
        )
    assert simulated.exit_code == 0, simulated.output
    assert drained.healthy
    run_id = orjson.loads(simulated.stdout)["data"]["run_id"]

    (probe,) = probes
    canary = probe.checks[-1]
    assert (canary.name, canary.status) == (CheckName.CANARY, CheckStatus.OK), canary
    assert 0 < canary.details["seconds"] < 30
    verified = cli("verify", run_id, "--json", env=env)
    assert verified.exit_code == 0, verified.output
    processed = orjson.loads(verified.stdout)["data"]["processed"]
    with psycopg.connect(str(stack_settings.database_url)) as connection:
        metrics = connection.execute("SELECT sum(event_count) FROM payment_metrics_5m").fetchone()
        runs = connection.execute("SELECT array_agg(run_id) FROM run_totals").fetchone()
        canaries = connection.execute("SELECT transaction_id::text FROM canary_payments").fetchall()
        dedupe = connection.execute(
            "SELECT count(*) FROM processed_transactions WHERE transaction_id = %s",
            (canary.details["transaction_id"],),
        ).fetchone()
    assert metrics == (processed,)  # every aggregated payment is the run's: the canary is not among them
    assert runs == ([run_id],)
    assert canaries == [(canary.details["transaction_id"],)]
    assert dedupe == (0,)


def test_wait_healthy_gives_up_at_its_timeout_with_the_last_report(cli, stack_settings: Settings) -> None:
    # No pipeline runs, so the function check fails on every poll until the time-out.
    result = cli(
        "health",
        "--wait-healthy",
        "--timeout",
        "1",
        "--check",
        "function",
        "--json",
        env=stack_env(stack_settings),
    )

    assert result.exit_code == 11
    error = orjson.loads(result.stdout)["error"]
    assert error["message"] == "the local pipeline is not healthy after waiting 1 s: function fail"
    assert error["report"]["checks"][0]["details"]["workers_alive"] == 0
    assert "paysim pipeline run" in error["hint"]
