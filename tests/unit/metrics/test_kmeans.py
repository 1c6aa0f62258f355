"""k-means: deterministic for a seed, clusters numbered by size, degenerate inputs handled."""

from __future__ import annotations

import numpy as np

from paysim_cli.metrics.kmeans import kmeans, standardised


def test_well_separated_groups_are_found_and_numbered_by_size() -> None:
    rng = np.random.default_rng(1)
    groups = [
        rng.normal(center, 0.1, size=(size, 2)) for center, size in (((0, 0), 5), ((5, 5), 20), ((0, 9), 10))
    ]
    points = np.vstack(groups)
    clustering = kmeans(points, 3, seed=7)
    assert clustering.labels[5:25].tolist() == [0] * 20
    assert clustering.labels[25:].tolist() == [1] * 10
    assert clustering.labels[:5].tolist() == [2] * 5
    assert np.allclose(clustering.centroids[0], (5, 5), atol=0.1)
    again = kmeans(points, 3, seed=7)
    assert np.array_equal(again.labels, clustering.labels)
    assert again.inertia == clustering.inertia


def test_identical_points_leave_the_other_clusters_empty() -> None:
    clustering = kmeans(np.ones((6, 3)), 2, seed=0)
    assert clustering.labels.tolist() == [0] * 6
    assert clustering.inertia == 0.0


def test_standardised_columns_and_a_constant_one() -> None:
    scores = standardised(np.array([[1.0, 5.0], [3.0, 5.0]]))
    assert scores.tolist() == [[-1.0, 0.0], [1.0, 0.0]]
