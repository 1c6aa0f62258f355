"""What people see while terraform runs: a live spinner at a terminal, one status line otherwise."""

from __future__ import annotations

import io

from paysim_cli.commands.infra.ui import terraform_progress
from paysim_cli.output import Output


def test_a_terminal_gets_a_transient_spinner() -> None:
    stderr = io.StringIO()
    output = Output(stdout=io.StringIO(), stderr=stderr, is_tty=True)

    with terraform_progress(output, "terraform plan (dev)"):
        pass

    assert "terraform plan (dev)" in stderr.getvalue()


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
