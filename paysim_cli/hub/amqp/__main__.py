"""`python -m paysim_cli.hub.amqp`: run the endpoint in the foreground until SIGTERM or SIGINT.

`paysim local up` starts it detached. With `--sas-key-name`, the key comes from the environment variable
PAYSIM_AMQP_SAS_KEY (never the command line, which other users can read) and tokens are verified.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
from pathlib import Path

from paysim_cli.hub.amqp.auth import SAS_KEY_VARIABLE, SharedAccessKey
from paysim_cli.hub.amqp.connection import ConnectionPolicy
from paysim_cli.hub.amqp.server import EndpointConfig, serve


def parse_config(arguments: list[str] | None = None) -> EndpointConfig:
    parser = argparse.ArgumentParser(prog="python -m paysim_cli.hub.amqp", description=__doc__)
    parser.add_argument("--event-log", type=Path, required=True, help="the local event log (events.db)")
    parser.add_argument("--eventhub-name", default="payments", help="the hub name clients address")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5672)
    parser.add_argument("--idle-timeout", type=float, default=240.0, help="seconds")
    parser.add_argument("--sas-key-name", help=f"verify SAS tokens with this policy and ${SAS_KEY_VARIABLE}")
    options = parser.parse_args(arguments)
    key = None
    if options.sas_key_name:
        if not os.environ.get(SAS_KEY_VARIABLE):
            parser.error(f"--sas-key-name needs the key in ${SAS_KEY_VARIABLE}")
        key = SharedAccessKey(options.sas_key_name, os.environ[SAS_KEY_VARIABLE])
    return EndpointConfig(
        event_log=options.event_log,
        eventhub_name=options.eventhub_name,
        host=options.host,
        port=options.port,
        policy=ConnectionPolicy(sas_key=key, idle_timeout_seconds=options.idle_timeout),
    )


async def _run(config: EndpointConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    # What start-up loaded lives as long as the process: out of the collector's sight, a full collection
    # walks only what serving allocates (it walked all of it, ~20-25 ms of CPU, pausing every connection).
    gc.collect()
    gc.freeze()
    await serve(config, stop)


def main(arguments: list[str] | None = None) -> None:
    config = parse_config(arguments)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_run(config))


if __name__ == "__main__":
    main()
