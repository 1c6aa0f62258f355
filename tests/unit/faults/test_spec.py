"""The --faults spec: what an operator types, what it means, and a usage error for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.faults.schedule import schedule_faults
from paysim_cli.faults.spec import FaultKind, check_fits, parse_fault_spec


def test_counts_times_and_bare_kinds_add_up() -> None:
    spec = parse_fault_spec(
        "worker-kill:20, host-kill:2,postgres-restart:3,azurite-outage:2,poison,worker-kill@7.5"
    )
    assert spec.total == 29
    assert spec.count(FaultKind.WORKER_KILL) == 21
    assert spec.count(FaultKind.POISON) == 1
    assert spec.entries[-1].at == 7.5


def test_a_file_holds_the_same_entries_with_comments(tmp_path: Path) -> None:
    path = tmp_path / "soak.txt"
    path.write_text(
        "# the soak's faults\nworker-kill:20\nhost-kill:2, postgres-restart:3  # crashes\n\n", "utf-8"
    )
    spec = parse_fault_spec(f"@{path}")
    assert (spec.total, spec.text) == (25, f"@{path}")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "names no fault"),
        ("  ,  ", "names no fault"),
        ("worker-kil:2", "'worker-kil' is not a fault kind"),
        ("worker-kill:x", "'worker-kill:x' is not KIND, KIND:COUNT or KIND@SECONDS"),
        ("worker-kill:0", "the count must be at least 1"),
        ("worker-kill:-1", "is not KIND"),
        ("host-kill@", "is not KIND"),
        ("worker-kill:1001", "more than the 1,000 a run may take"),
        ("@/nonexistent/faults.txt", "cannot read the fault file"),
    ],
)
def test_each_mistake_is_a_usage_error_naming_it(text: str, says: str) -> None:
    with pytest.raises(PaysimError) as caught:
        parse_fault_spec(text)
    assert caught.value.code == "invalid_fault_spec"
    assert caught.value.exit_code == ExitCode.USAGE
    assert says in caught.value.message
    assert caught.value.message.startswith("--faults: ")
    assert caught.value.hint


def test_faults_must_fit_the_run_and_its_transport() -> None:
    with pytest.raises(PaysimError, match="host-kill@30 is not within the run's 30 s"):
        check_fits(parse_fault_spec("host-kill@30"), 30, amqp_in_path=False)
    with pytest.raises(PaysimError, match="amqp-restart needs --transport eventhub"):
        check_fits(parse_fault_spec("amqp-restart"), 30, amqp_in_path=False)
    check_fits(parse_fault_spec("amqp-restart,host-kill@29.9"), 30, amqp_in_path=True)


def test_counted_faults_spread_over_the_middle_of_the_run_and_interleave() -> None:
    spec = parse_fault_spec("worker-kill:20,host-kill:2,postgres-restart:3,azurite-outage:2,host-kill@1")
    schedule = schedule_faults(spec, 300, seed=7)
    assert [fault.number for fault in schedule] == list(range(1, 29))
    times = [fault.at for fault in schedule]
    assert times == sorted(times)
    assert (schedule[0].kind, schedule[0].at) == (FaultKind.HOST_KILL, 1.0)  # the fixed one
    counted = times[1:]
    assert min(counted) >= 30 * 0.75
    assert max(counted) <= 300 * 0.85
    restarts = [fault.at for fault in schedule if fault.kind is FaultKind.POSTGRES_RESTART]
    assert restarts[0] < 100 < restarts[1] < 200 < restarts[2]  # one in each third
    assert schedule_faults(spec, 300, seed=7) == schedule  # the same seed strikes at the same seconds
    assert schedule_faults(spec, 300, seed=8) != schedule
