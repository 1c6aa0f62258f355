"""The fault spec an operator types after `--faults`: which faults, how many, or exactly when.

    worker-kill:20,host-kill:2,postgres-restart:3,azurite-outage:2,poison
    worker-kill@5,worker-kill@12.5,host-kill@20
    @faults.txt            (the same entries, one or more a line; `#` starts a comment)

`KIND` alone is one fault, `KIND:COUNT` spreads COUNT faults over the run, `KIND@SECONDS` puts one
at that second of the run. Entries add up; every mistake is a usage error that names the entry.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from paysim_cli.errors import ExitCode, PaysimError

MAX_FAULTS = 1000
_ENTRY = re.compile(r"^(?P<kind>[a-z-]+)(?::(?P<count>\d+)|@(?P<at>\d+(?:\.\d+)?))?$")
USAGE = (
    "KIND[:COUNT] or KIND@SECONDS, comma-separated (or @FILE), KIND one of "
    "worker-kill, host-kill, postgres-restart, azurite-outage, amqp-restart, poison; "
    "e.g. --faults worker-kill:20,host-kill:2,postgres-restart:3,azurite-outage:2"
)


class FaultKind(StrEnum):
    WORKER_KILL = "worker-kill"  # kill -9 of one pipeline worker; its host restarts it
    HOST_KILL = "host-kill"  # kill -9 of the pipeline host; its workers die with it; a new host starts
    POSTGRES_RESTART = "postgres-restart"  # pg_ctl stop -m immediate (a crash), then start
    AZURITE_OUTAGE = "azurite-outage"  # kill -9 of Azurite, down for a while, then start
    AMQP_RESTART = "amqp-restart"  # kill -9 of the AMQP endpoint, then start (--transport eventhub)
    POISON = "poison"  # one event that passes validation and fails later (a leap second)


class FaultEntry(BaseModel):
    """One entry of the spec: `count` faults spread over the run, or one `at` a given second."""

    model_config = ConfigDict(frozen=True)

    kind: FaultKind
    count: int = 1
    at: float | None = None


class FaultSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str  # as typed (a file's path with its @), for the report
    entries: tuple[FaultEntry, ...]

    @property
    def total(self) -> int:
        return sum(entry.count for entry in self.entries)

    def count(self, kind: FaultKind) -> int:
        return sum(entry.count for entry in self.entries if entry.kind is kind)


def parse_fault_spec(text: str) -> FaultSpec:
    """The spec in `text` (or in the file `@PATH` names); `invalid_fault_spec` (exit 2) says what is wrong."""
    source = _read_file(text[1:]) if text.startswith("@") else text
    items = [
        item.strip()
        for line in source.splitlines()
        for item in line.split("#", 1)[0].split(",")
        if item.strip()
    ]
    if not items:
        raise _invalid(f"{text!r} names no fault")
    entries = tuple(_entry(item) for item in items)
    spec = FaultSpec(text=text, entries=entries)
    if spec.total > MAX_FAULTS:
        raise _invalid(f"{spec.total:,} faults is more than the {MAX_FAULTS:,} a run may take")
    return spec


def check_fits(spec: FaultSpec, duration: float, *, amqp_in_path: bool) -> None:
    """Faults the run cannot take: after its end, or on a part it does not use."""
    for entry in spec.entries:
        if entry.at is not None and entry.at >= duration:
            raise _invalid(f"{entry.kind}@{entry.at:g} is not within the run's {duration:g} s")
        if entry.kind is FaultKind.AMQP_RESTART and not amqp_in_path:
            raise _invalid(
                "amqp-restart needs --transport eventhub: on the local log no event passes the AMQP endpoint"
            )


def _entry(item: str) -> FaultEntry:
    match = _ENTRY.match(item.lower())
    if match is None:
        raise _invalid(f"{item!r} is not KIND, KIND:COUNT or KIND@SECONDS")
    try:
        kind = FaultKind(match["kind"])
    except ValueError:
        raise _invalid(f"{match['kind']!r} is not a fault kind") from None
    if match["at"] is not None:
        return FaultEntry(kind=kind, at=float(match["at"]))
    count = int(match["count"]) if match["count"] is not None else 1
    if count < 1:
        raise _invalid(f"{item!r}: the count must be at least 1")
    return FaultEntry(kind=kind, count=count)


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PaysimError(
            "invalid_fault_spec",
            f"--faults: cannot read the fault file {path!r}: {error}",
            "write the entries in a UTF-8 text file and pass it as --faults @PATH",
            exit_code=ExitCode.USAGE,
        ) from error


def _invalid(reason: str) -> PaysimError:
    return PaysimError(
        "invalid_fault_spec", f"--faults: {reason}", f"the spec is {USAGE}", exit_code=ExitCode.USAGE
    )
