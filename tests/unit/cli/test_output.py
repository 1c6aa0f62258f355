"""Output: JSON envelopes for machines, plain text when stdout is not a TTY, secrets masked."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

import orjson
from pydantic import BaseModel

from paysim_cli.errors import PaysimError
from paysim_cli.output import Output, dumps_json, to_jsonable


class Colour(Enum):
    RED = "red"


@dataclass
class Sample:
    path: Path
    when: datetime
    colour: Colour
    raw: bytes


class Model(BaseModel):
    name: str


def make_output(**kwargs: object) -> tuple[Output, io.StringIO, io.StringIO]:
    stdout, stderr = io.StringIO(), io.StringIO()
    return Output(stdout=stdout, stderr=stderr, **kwargs), stdout, stderr  # type: ignore[arg-type]


def test_to_jsonable_handles_domain_types() -> None:
    sample = Sample(Path("/x"), datetime(2026, 1, 1, tzinfo=UTC), Colour.RED, b"ab")
    assert to_jsonable({"s": sample, "m": Model(name="n"), "t": (1, 2)}) == {
        "s": {"path": "/x", "when": "2026-01-01T00:00:00+00:00", "colour": "red", "raw": "ab"},
        "m": {"name": "n"},
        "t": [1, 2],
    }


def test_json_result_is_an_envelope_with_masked_secrets() -> None:
    output, stdout, stderr = make_output(json_mode=True)
    output.result({"url": "postgresql://u:pw@h/db"})
    output.status("working")
    assert orjson.loads(stdout.getvalue()) == {"data": {"url": "postgresql://u:****@h/db"}}
    assert stderr.getvalue() == ""


def test_json_error_envelope() -> None:
    output, stdout, _ = make_output(json_mode=True)
    output.error(PaysimError("boom", "it broke: password=abc", "fix it"))
    assert orjson.loads(stdout.getvalue()) == {
        "error": {"code": "boom", "message": "it broke: password=****", "hint": "fix it"}
    }


def test_human_error_goes_to_stderr() -> None:
    output, stdout, stderr = make_output()
    output.error(PaysimError("boom", "it broke", "fix it"))
    assert stdout.getvalue() == ""
    assert stderr.getvalue() == "error [boom]: it broke\nhint: fix it\n"


def test_not_a_tty_means_no_colour_and_no_live_progress() -> None:
    output, stdout, stderr = make_output(is_tty=False)
    assert not output.interactive
    output.result({"a": 1}, lambda console: console.print("[bold]plain[/bold]"))
    assert stdout.getvalue() == "plain\n"
    with output.progress("migrating") as progress:
        assert progress is None
    assert "migrating" in stderr.getvalue()


def test_tty_gets_a_progress_display() -> None:
    output, _, _ = make_output(is_tty=True)
    assert output.interactive
    with output.progress("working") as progress:
        assert progress is not None


def test_warnings_show_in_every_mode_status_lines_not_in_json_or_quiet() -> None:
    output, stdout, stderr = make_output(json_mode=True)
    output.warn("careful")
    output.status("working")
    assert (stdout.getvalue(), stderr.getvalue()) == ("", "warning: careful\n")
    quiet, _, quiet_err = make_output(quiet=True, is_tty=True)
    quiet.status("working")
    quiet.warn("careful")
    assert quiet_err.getvalue() == "warning: careful\n"
    assert not quiet.interactive  # no live view for --quiet, even at a terminal


def test_result_without_renderer_prints_json() -> None:
    output, stdout, _ = make_output()
    output.result({"a": 1})
    assert orjson.loads(stdout.getvalue()) == {"a": 1}
    assert dumps_json([1], indent=False) == "[1]"


def test_counts_latencies_and_outside_text_for_people() -> None:
    from paysim_cli.output import duration_ms, plural, printable

    assert [plural(1, "event"), plural(2, "event"), plural(1000, "batch")] == [
        "1 event",
        "2 events",
        "1,000 batches",
    ]
    assert [duration_ms(140.24), duration_ms(9999.9), duration_ms(148_497.0)] == [
        "140.2 ms",
        "9,999.9 ms",
        "148.5 s",
    ]
    assert printable("ok\x1b[2J\tend\x00") == "ok\\x1b[2J\tend\\x00"


def test_a_failure_after_work_prints_the_report_then_fails() -> None:
    import pytest

    people, stdout, _ = make_output()
    with pytest.raises(PaysimError):
        people.outcome({"sent": 3}, lambda console: console.print("sent 3"), PaysimError("x", "y"))
    assert stdout.getvalue() == "sent 3\n"
    machines, stdout, _ = make_output(json_mode=True)
    failure = PaysimError("x", "y")
    with pytest.raises(PaysimError):
        machines.outcome({"sent": 3}, None, failure)
    assert stdout.getvalue() == ""  # the report goes inside the error document the root app prints
    machines.error(failure)
    assert orjson.loads(stdout.getvalue())["error"]["report"] == {"sent": 3}
