"""A check run in a forked child process, so that loading its SDK uses another core.

One Python process loads one module at a time (the GIL), and the Blob SDK alone takes about as long to
load as everything else `paysim health` needs. Run in a child forked before the checks' threads start,
its check loads that SDK on another core while the parent loads the PostgreSQL driver and runs the
rest; the child inherits everything already loaded (settings included) and sends back one pickled
`CheckResult` through a pipe. That pays only in a process's first look: later looks (`--watch`,
`--wait-healthy`) run the check on a thread like the others, loading the SDK here once. And forking is
safe only while the process has a single thread, so a library caller with threads of its own gets
threads too.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from paysim_cli.health.models import CheckName, CheckResult

# The checks worth a process of their own, and the module whose loading they would otherwise wait for.
SLOW_TO_LOAD = {CheckName.BLOB: "azure.storage.blob"}


_forked_before: set[CheckName] = set()


def forkable(names: list[CheckName]) -> list[CheckName]:
    """The checks of `names` to fork now: none unless this process has one thread and can fork, and
    each only the first time (a later look loads its SDK in this process, once)."""
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return []
    chosen = [
        name
        for name in names
        if name in SLOW_TO_LOAD and name not in _forked_before and SLOW_TO_LOAD[name] not in sys.modules
    ]
    _forked_before.update(chosen)
    return chosen


def start_forked(
    name: CheckName, run: Callable[[], CheckResult], limit: float, lost: Callable[[str], CheckResult]
) -> Future[CheckResult]:
    """`run()` in a forked child; the future gets its result, or `lost(why)` when the child died
    without one. A child still running after `limit` seconds is killed (the caller reports it)."""
    future: Future[CheckResult] = Future()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer, then leave without the parent's exit handlers or buffers
        os.close(read_end)
        try:
            payload = pickle.dumps(run())
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
        finally:
            os._exit(0)
    os.close(write_end)
    threading.Thread(
        target=_collect, args=(pid, read_end, limit, future, lost), name=f"health-{name}", daemon=True
    ).start()
    return future


def _collect(
    pid: int, read_end: int, limit: float, future: Future[CheckResult], lost: Callable[[str], CheckResult]
) -> None:
    deadline = time.monotonic() + limit
    chunks: list[bytes] = []
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while (remaining := deadline - time.monotonic()) > 0 and select.select([pipe], [], [], remaining)[0]:
            chunk = pipe.read(1 << 16)
            if not chunk:  # the child is done
                break
            chunks.append(chunk)
        else:  # still running at its time-out: the caller has reported it unknown already
            os.kill(pid, signal.SIGKILL)
            chunks = []
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if chunks:
        future.set_result(pickle.loads(b"".join(chunks)))
    else:
        ended = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        future.set_result(lost(f"its process ended without an answer ({ended})"))
