"""`paysim local logs`: the end of each service's log, and following them as they grow."""

from __future__ import annotations

import threading
import time

import orjson

from paysim_cli.local.logs import Component, follow_logs, log_paths, tail_logs
from paysim_cli.settings import Settings


def _write(settings: Settings, component: Component, text: str) -> None:
    path = log_paths(settings)[component]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def test_the_last_lines_of_each_log(settings: Settings) -> None:
    _write(settings, Component.POSTGRES, "".join(f"line {n}\n" for n in range(30)))
    logs = {log.component: log for log in tail_logs(settings, [], 3)}
    assert logs[Component.POSTGRES].lines == ["line 27", "line 28", "line 29"]
    assert logs[Component.AZURITE].exists is False
    assert logs[Component.AMQP].lines == []
    assert [log.component for log in tail_logs(settings, [Component.AMQP], 3)] == [Component.AMQP]


def test_following_prints_new_lines_only_and_survives_a_truncated_log(settings: Settings) -> None:
    _write(settings, Component.AZURITE, "old\n")
    seen: list[tuple[str, str]] = []
    stop = threading.Event()
    follower = threading.Thread(
        target=follow_logs,
        args=(settings, [], lambda component, line: seen.append((str(component), line)), stop.is_set),
    )
    follower.start()
    try:
        time.sleep(0.5)
        _write(settings, Component.AZURITE, "new 1\npart")
        _write(settings, Component.POSTGRES, "pg\n")
        time.sleep(0.6)
        _write(settings, Component.AZURITE, "ial\n")
        time.sleep(0.6)
        log_paths(settings)[Component.AZURITE].write_text("after reset\n")
        time.sleep(0.6)
    finally:
        stop.set()
        follower.join()
    assert ("azurite", "old") not in seen
    assert [line for component, line in seen if component == "azurite"] == ["new 1", "partial", "after reset"]
    assert ("postgres", "pg") in seen


def test_the_command(cli, settings: Settings) -> None:
    _write(settings, Component.AMQP, "listening\x1b[31m\n")
    shown = cli("local", "logs", "amqp")
    assert shown.exit_code == 0
    assert "amqp | listening\\x1b[31m" in shown.stdout  # control characters made inert
    data = orjson.loads(cli("local", "logs", "--lines", "1", "--json").stdout)["data"]
    assert [log["component"] for log in data["logs"]] == ["postgres", "azurite", "amqp"]
