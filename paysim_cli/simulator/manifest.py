"""The run manifest moved to `paysim_cli.runs.manifest` (a run is a concept of its own, issue 12 item 9);
this name stays while branches written against it are merged."""

from paysim_cli.runs.manifest import (
    WINDOW_SECONDS,
    ManifestCounts,
    ManifestTotals,
    ProfileReference,
    RunManifest,
    WindowCell,
    build_manifest,
    profile_reference,
    write_manifest,
)

__all__ = [
    "WINDOW_SECONDS",
    "ManifestCounts",
    "ManifestTotals",
    "ProfileReference",
    "RunManifest",
    "WindowCell",
    "build_manifest",
    "profile_reference",
    "write_manifest",
]
