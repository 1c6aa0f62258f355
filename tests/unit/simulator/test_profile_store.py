"""Profiles: the bundled ones are valid; a broken one is one error naming its file, line and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings
from paysim_cli.simulator.profile_store import (
    BUNDLED_PROFILES_DIR,
    find_profile,
    list_profiles,
    load_profile,
    show_profile,
    validate_profiles,
)

ProfileFile = Callable[..., Path]


def _error(path: Path) -> PaysimError:
    with pytest.raises(PaysimError) as caught:
        load_profile(path)
    assert caught.value.code == "invalid_profile"
    assert caught.value.exit_code is ExitCode.CONFIG
    return caught.value


def test_bundled_profiles_are_valid(settings: Settings) -> None:
    names = {summary.name for summary in validate_profiles(settings, [])}
    assert {"default", "black_friday", "fraud_burst", "chaos"} <= names


def test_small_profile_reads_yaml_12_booleans_and_numeric_mccs(profile_file: ProfileFile) -> None:
    profile = load_profile(profile_file())
    assert list(profile.countries) == ["US", "NO"]  # YAML 1.1 would have read NO as false
    assert list(profile.merchants.mccs) == ["5411", "5812", "4121"]


def test_unknown_payment_type_names_line_and_field(profile_file: ProfileFile, small_profile: str) -> None:
    text = small_profile.replace("  wallet:", "  cheque:")
    error = _error(profile_file(text=text))
    assert error.message.startswith(
        f"{profile_file(text=text)}:7: payment_types.cheque: unknown payment type"
    )


def test_missing_stage_field_points_at_the_stage(profile_file: ProfileFile) -> None:
    path = profile_file("stages:\n  - {kind: hold, duration: 5}\n  - kind: ramp\n    duration: 10\n")
    error = _error(path)
    assert error.message == f"{path}:15: stages[1].to: Field required"


def test_bad_value_in_nested_mapping(profile_file: ProfileFile, small_profile: str) -> None:
    path = profile_file(text=small_profile.replace("decline_rate: 0.1", "decline_rate: 1.5"))
    error = _error(path)
    assert error.message.startswith(f"{path}:5: payment_types.card.decline_rate: Input should be less")


def test_typo_is_an_extra_field(profile_file: ProfileFile) -> None:
    path = profile_file("faults:\n  malformed_rate: 0.1\n  duplicat_rate: 0.1\n")
    error = _error(path)
    assert error.message == f"{path}:15: faults.duplicat_rate: Extra inputs are not permitted"


def test_unknown_currency(profile_file: ProfileFile, small_profile: str) -> None:
    path = profile_file(text=small_profile.replace("JPY: 0.1", "XYZ: 0.1"))
    assert "currencies.XYZ: unknown currency 'XYZ'" in _error(path).message


def test_yaml_syntax_error_names_its_line(profile_file: ProfileFile) -> None:
    path = profile_file("faults: {malformed_rate: 0.1\n")
    error = _error(path)
    assert error.message.startswith(f"{path}:14: yaml:")


def test_a_profile_is_a_mapping(profile_file: ProfileFile) -> None:
    path = profile_file(text="- just\n- a list\n")
    assert (
        _error(path).message
        == f"{path}:1: profile: a profile is a mapping of fields (rate, payment_types, ...)"
    )


def test_cross_field_rules(profile_file: ProfileFile, small_profile: str) -> None:
    single_country = small_profile.replace("countries: {US: 0.6, NO: 0.4}", "countries: {US: 1}")
    error = _error(profile_file("fraud:\n  account_takeover: {share: 0.01}\n", text=single_country))
    assert "account takeover comes from another country" in error.message
    error = _error(profile_file("fraud:\n  card_testing: {share: 0.01, burst_size: [9, 3]}\n"))
    assert "fraud.card_testing: burst_size must be [min, max]" in error.message
    error = _error(profile_file("diurnal: [" + ", ".join(["0"] * 24) + "]\n"))
    assert "diurnal multipliers are all 0" in error.message


def test_more_problems_are_counted_in_the_hint(profile_file: ProfileFile, small_profile: str) -> None:
    path = profile_file(
        text=small_profile.replace("rate: 1000", "rate: -1").replace("duration: 2", "duration: 0")
    )
    error = _error(path)
    assert error.message.startswith(f"{path}:2: rate:")
    assert error.hint is not None
    assert "1 more problem after this one" in error.hint


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00")
    assert "cannot be read" in _error(path).message


def test_find_by_name_path_and_user_override(
    settings: Settings, profile_file: ProfileFile, small_profile: str
) -> None:
    assert find_profile(settings, "chaos") == ("chaos", BUNDLED_PROFILES_DIR / "chaos.yaml", "bundled")
    path = profile_file()
    assert find_profile(settings, str(path)) == ("small", path, "file")
    user_dir = settings.state_dir / "profiles"
    user_dir.mkdir()
    (user_dir / "chaos.yaml").write_text(small_profile)
    assert find_profile(settings, "chaos")[2] == "user"
    listed = {summary.name: summary for summary in list_profiles(settings)}
    assert listed["chaos"].origin == "user"
    assert listed["chaos"].description == "small test profile"


def test_not_found(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(PaysimError, match="no profile named 'nope'") as caught:
        find_profile(settings, "nope")
    assert caught.value.hint is not None
    assert "chaos" in caught.value.hint
    with pytest.raises(PaysimError, match="does not exist"):
        find_profile(settings, str(tmp_path / "missing.yaml"))


def test_list_reports_invalid_profiles_without_failing(settings: Settings) -> None:
    user_dir = settings.state_dir / "profiles"
    user_dir.mkdir()
    (user_dir / "broken.yaml").write_text("rate: fast\n")
    listed = {summary.name: summary for summary in list_profiles(settings)}
    assert not listed["broken"].valid
    assert listed["broken"].error is not None
    assert "broken.yaml:1: rate:" in listed["broken"].error
    with pytest.raises(PaysimError, match=r"broken\.yaml:1: rate"):
        validate_profiles(settings, [])


def test_show_plans_the_profile(settings: Settings) -> None:
    detail = show_profile(settings, "black_friday")
    assert detail.planned_duration_seconds == 300
    assert detail.planned_events == 1_515_000
    assert detail.peak_rate == 20_000
