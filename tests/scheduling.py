"""Where the longest tests run: with pytest-xdist's work-stealing scheduler each worker first gets a
contiguous share of the collected tests, so the tests that take minutes are spread over those shares
(longest first, each to the least loaded worker) instead of landing on one worker at the end of the run.
The seconds are from `pytest --durations` on the 2-core machine; a test not listed counts as short.
Tests are named by their function (their names are unique in the suite)."""

from __future__ import annotations

from itertools import islice

import pytest

LONG_TESTS = {
    "test_the_deploy_sequence_deploys_and_rolls_back_function_and_migrations_on_each_failure": 165,
    "test_a_broken_release_is_rolled_back_by_itself_under_load_and_the_run_reconciles": 155,
    "test_the_demo_survives_real_faults_and_says_how_fast": 64,
    "test_a_vendored_package_is_reproducible_clean_and_imports_from_its_own_packages": 41,
    "test_kill_9_of_workers_at_random_points_keeps_the_totals_exact": 41,
    "test_an_azurite_crash_leaves_a_gap_that_is_reported_then_repaired": 39,
    "test_elastic_premium_zipdeploy_follows_the_location_kudu_returns": 32,
    "test_the_manifest_equals_a_recount_of_the_events_written": 28,
    "test_the_readme_path_in_an_empty_directory": 26,
    "test_up_twice_status_down_up": 25,
    "test_the_demo_reconciles_a_run_and_a_chaos_run": 22,
    "test_the_demo_measures_its_own_run_and_reports_older_events_apart": 22,
    "test_same_seed_same_bytes_with_one_or_two_workers": 21,
    "test_two_consumers_share_partitions_and_resume_from_checkpoints": 20,
    "test_the_demo_through_the_sdk_on_both_sides_reconciles": 19,
}


def _seconds(item: pytest.Item) -> int:
    return LONG_TESTS.get(getattr(item, "originalname", item.name), 0)


def spread_long_tests(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """`items` reordered so that each of `workers` shares, as work stealing cuts them, starts with
    its part of the long tests."""
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for item in sorted((item for item in items if _seconds(item)), key=_seconds, reverse=True):
        least = loads.index(min(loads))
        shares[least].append(item)
        loads[least] += _seconds(item)
    short = iter([item for item in items if not _seconds(item)])
    ordered: list[pytest.Item] = []
    for worker, share in enumerate(shares):
        # The scheduler hands worker k the next len(left) // (workers - k) tests, in order.
        size = (len(items) - len(ordered)) // (workers - worker)
        ordered += share + list(islice(short, max(0, size - len(share))))
    return ordered + list(short)
