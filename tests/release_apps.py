"""Small real Function apps installed as local releases, for the release tracker and the local target."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from paysim_cli.pipeline.release import ActiveRelease, release_dir, write_active

APP = """import azure.functions as func
from marker_app import bp

app = func.FunctionApp()
app.register_functions(bp)
"""
BLUEPRINT = """import os
import azure.functions as func
{extra}
bp = func.Blueprint()
CLOSED = []


@bp.event_hub_message_trigger(
    arg_name="events", event_hub_name="hub", connection="C", consumer_group="$Default",
    cardinality=func.Cardinality.MANY, data_type=func.DataType.BINARY,
)
def process_payment_events(events):
    return ({marker!r}, os.environ.get("PAYSIM_WINDOW_SECONDS"))


def close_processor():
    CLOSED.append(True)
"""


def make_release(state_dir: Path, version: str, *, extra: str = "") -> Path:
    directory = release_dir(state_dir, version)
    directory.mkdir(parents=True)
    (directory / "function_app.py").write_text(APP)
    (directory / "marker_app.py").write_text(BLUEPRINT.format(marker=version, extra=extra))
    return directory


def point(state_dir: Path, version: str, **settings: str) -> None:
    write_active(state_dir, ActiveRelease(version=version, settings=settings, activated_at=datetime.now(UTC)))
