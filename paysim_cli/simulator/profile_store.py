"""Finding, loading and checking load profiles; a broken one becomes one error naming file, line and field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ValidationError

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings
from paysim_cli.simulator.profile import Profile
from paysim_pipeline.yaml_nodes import child_node

# The project's profiles/, shipped in the wheel through the symlink paysim_cli/simulator/profiles, so an
# installed paysim (the container image) has them too; a profile of the same name in the state
# directory takes precedence. Resolved, so a source checkout shows profiles/NAME.yaml.
BUNDLED_PROFILES_DIR = (Path(__file__).resolve().parent / "profiles").resolve()
PROFILE_SUFFIX = ".yaml"


class ProfileLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. YAML 1.1 would read the country code NO as False."""


ProfileLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ProfileLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class ProfileSummary(BaseModel):
    name: str
    path: Path
    origin: Literal["user", "bundled", "file"]
    valid: bool
    description: str = ""
    error: str | None = None


class ProfileDetail(BaseModel):
    name: str
    path: Path
    origin: Literal["user", "bundled", "file"]
    profile: Profile
    planned_events: int
    planned_duration_seconds: float
    peak_rate: float


def profile_dirs(settings: Settings) -> list[tuple[Literal["user", "bundled"], Path]]:
    """Where profiles are looked up by name, first match wins."""
    return [("user", settings.state_dir / "profiles"), ("bundled", BUNDLED_PROFILES_DIR)]


def find_profile(settings: Settings, reference: str) -> tuple[str, Path, Literal["user", "bundled", "file"]]:
    """A profile by name (`black_friday`) or by path (`./mine.yaml`): its name, file and origin."""
    as_path = Path(reference)
    if as_path.suffix in {".yaml", ".yml"} or len(as_path.parts) > 1:
        if not as_path.is_file():
            raise PaysimError(
                "profile_not_found",
                f"profile file {as_path} does not exist",
                "check the path, or give a profile name from `paysim profiles list`",
                exit_code=ExitCode.CONFIG,
            )
        return as_path.stem, as_path, "file"
    for origin, directory in profile_dirs(settings):
        candidate = directory / f"{reference}{PROFILE_SUFFIX}"
        if candidate.is_file():
            return reference, candidate, origin
    known = ", ".join(sorted({path.stem for _, _, path, _ in _discover(settings)})) or "none"
    raise PaysimError(
        "profile_not_found",
        f"no profile named {reference!r}",
        f"known profiles: {known}; or pass a path to a .yaml file",
        exit_code=ExitCode.CONFIG,
    )


def load_profile(path: Path) -> Profile:
    """Parse and validate a profile file; the first problem becomes a PaysimError at its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _invalid(path, None, "file", f"cannot be read: {error}", 0) from error
    loader = ProfileLoader(text)
    try:
        root = loader.get_single_node()
        document = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        raise _invalid(path, line, "yaml", str(error.problem or error.context), 0) from error
    finally:
        loader.dispose()
    if root is None or not isinstance(document, dict):
        raise _invalid(path, 1, "profile", "a profile is a mapping of fields (rate, payment_types, ...)", 0)
    try:
        return Profile.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        line, field = _locate(root, first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise _invalid(path, line, field, message, error.error_count() - 1) from error


def _invalid(path: Path, line: int | None, field: str, message: str, more: int) -> PaysimError:
    where = f"{path}:{line}" if line is not None else str(path)
    hint = "fix it, then check with `paysim profiles validate`"
    if more:
        hint += f" ({more} more problem{'s' if more > 1 else ''} after this one)"
    return PaysimError("invalid_profile", f"{where}: {field}: {message}", hint, exit_code=ExitCode.CONFIG)


def _locate(root: yaml.Node, loc: Sequence[int | str]) -> tuple[int, str]:
    """The line of the YAML node an error location points at, and the location as a readable path.

    Pydantic inserts the tag of a discriminated union (`stages.0.ramp.to`): a part that is the node's
    `kind` is skipped. Other parts that match no node are missing fields, kept at the end of the path.
    """
    node, line = root, root.start_mark.line + 1
    path: list[str] = []
    unmatched: list[str] = []
    for part in loc:
        if part == "[key]" or _is_tag(node, part):
            continue
        child = child_node(node, part)
        if child is None:
            unmatched.append(str(part))
            continue
        key_node, node = child
        line = key_node.start_mark.line + 1
        path.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return line, ".".join(filter(None, ["".join(path).lstrip("."), *unmatched])) or "profile"


def _is_tag(node: yaml.Node, part: int | str) -> bool:
    return isinstance(node, yaml.MappingNode) and any(
        key.value == "kind" and value.value == part for key, value in node.value
    )


def _discover(settings: Settings) -> list[tuple[str, Literal["user", "bundled"], Path, bool]]:
    """(name, origin, path, shadowed) for every profile file, in lookup order."""
    seen: set[str] = set()
    found: list[tuple[str, Literal["user", "bundled"], Path, bool]] = []
    for origin, directory in profile_dirs(settings):
        for path in sorted(directory.glob(f"*{PROFILE_SUFFIX}")):
            found.append((path.stem, origin, path, path.stem in seen))
            seen.add(path.stem)
    return found


def _summary(
    name: str, path: Path, origin: Literal["user", "bundled", "file"], *, strict: bool = False
) -> ProfileSummary:
    """A profile's summary; an invalid profile raises when `strict`, else is reported as invalid."""
    try:
        profile = load_profile(path)
    except PaysimError as error:
        if strict:
            raise
        return ProfileSummary(name=name, path=path, origin=origin, valid=False, error=error.message)
    return ProfileSummary(name=name, path=path, origin=origin, valid=True, description=profile.description)


def list_profiles(settings: Settings) -> list[ProfileSummary]:
    """Every profile paysim can find by name, valid or not (a user profile hides a bundled one)."""
    return [
        _summary(name, path, origin) for name, origin, path, shadowed in _discover(settings) if not shadowed
    ]


def validate_profiles(settings: Settings, references: Sequence[str]) -> list[ProfileSummary]:
    """Validate the named profiles (all of them when none is named); the first broken one raises."""
    targets = (
        [find_profile(settings, reference) for reference in references]
        if references
        else [(name, path, origin) for name, origin, path, shadowed in _discover(settings) if not shadowed]
    )
    return [_summary(name, path, origin, strict=True) for name, path, origin in targets]


def show_profile(settings: Settings, reference: str) -> ProfileDetail:
    """A profile as validated, with defaults filled in, and the plan it makes."""
    import time

    from paysim_cli.simulator.schedule import RatePlan

    name, path, origin = find_profile(settings, reference)
    profile = load_profile(path)
    plan = RatePlan.from_profile(profile, start_epoch=time.time())
    duration = profile.planned_duration
    return ProfileDetail(
        name=name,
        path=path,
        origin=origin,
        profile=profile,
        planned_events=plan.events_before(duration),
        planned_duration_seconds=duration,
        peak_rate=plan.peak_rate(duration),
    )
