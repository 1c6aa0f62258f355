"""The options `paysim archive check` and `repair` share: which part of the archive, declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from paysim_cli.hub.targets import HubTarget
    from paysim_cli.reconcile.archive import ArchiveScope

PartitionOption = Annotated[
    list[str] | None,
    typer.Option("--partition", help="A partition to check (repeatable; default: all).", show_default=False),
]
FromOption = Annotated[
    int | None,
    typer.Option("--from-sequence", min=0, help="Check from this sequence number on.", show_default=False),
]
ToOption = Annotated[
    int | None,
    typer.Option("--to-sequence", min=0, help="Check up to this sequence number.", show_default=False),
]
DeepOption = Annotated[
    bool,
    typer.Option("--deep", help="Download every blob in range and check it holds the events its name says."),
]


def archive_scope(
    source: HubTarget,
    consumer_group: str | None,
    partition: list[str] | None,
    from_sequence: int | None,
    to_sequence: int | None,
    deep: bool,
) -> ArchiveScope:
    from paysim_cli.reconcile.archive import ArchiveScope

    return ArchiveScope(
        source=source,
        consumer_group=consumer_group,
        partition_ids=tuple(partition or ()),
        from_sequence=from_sequence,
        to_sequence=to_sequence,
        deep=deep,
    )
