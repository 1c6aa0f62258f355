"""What people see while terraform runs: a live spinner at a terminal, one status line otherwise."""

from __future__ import annotations

import io
import re

from paysim_cli.commands.infra.ui import terraform_progress
from paysim_cli.output import Output

HIDE_CURSOR, SHOW_CURSOR, ERASE_LINE, LINE_UP = "\x1b[?25l", "\x1b[?25h", "\x1b[2K", "\x1b[1A"


def test_a_terminal_gets_a_transient_spinner() -> None:
    stderr, stdout = io.StringIO(), io.StringIO()
    output = Output(stdout=stdout, stderr=stderr, is_tty=True)

    with terraform_progress(output, "terraform plan (dev)"):
        pass

    shown = stderr.getvalue()
    # A live display: the cursor hidden while it redraws, the spinner frame and the elapsed time...
    assert shown.startswith(HIDE_CURSOR)
    assert "terraform plan (dev)" in shown
    assert re.search(r"\d:\d\d:\d\d", shown)
    # ...that leaves nothing behind: the cursor back, and the line erased once it stops.
    assert shown.endswith(SHOW_CURSOR + "\r" + LINE_UP + ERASE_LINE)
    assert stdout.getvalue() == ""  # progress is never part of the result


def test_a_pipe_gets_one_status_line_and_json_mode_nothing() -> None:
    stderr = io.StringIO()
    with terraform_progress(
        Output(stdout=io.StringIO(), stderr=stderr, is_tty=False), "terraform plan (dev)"
    ):
        pass
    quiet = io.StringIO()
    with terraform_progress(
        Output(json_mode=True, stdout=io.StringIO(), stderr=quiet), "terraform plan (dev)"
    ):
        pass

    assert stderr.getvalue() == "terraform plan (dev)\n"
    assert quiet.getvalue() == ""
