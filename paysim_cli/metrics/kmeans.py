"""k-means with k-means++ seeding, in numpy: deterministic for a seed, best of a few restarts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]

RESTARTS = 4
MAX_ITERATIONS = 100


@dataclass(frozen=True)
class Clustering:
    """Cluster ids (0 is the largest cluster), centroids, and the sum of squared distances to them."""

    labels: IntArray
    centroids: FloatArray
    inertia: float


def standardised(features: FloatArray) -> FloatArray:
    """Each column as z-scores; a constant column becomes zeros (it cannot separate anything)."""
    import numpy as np

    spread = features.std(axis=0)
    scores: FloatArray = (features - features.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return scores


def kmeans(points: FloatArray, clusters: int, *, seed: int) -> Clustering:
    """The best (least inertia) of RESTARTS Lloyd runs from k-means++ seeds drawn from `seed`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    best = min(
        (_lloyd(points, _seeds(points, clusters, rng)) for _ in range(RESTARTS)), key=lambda run: run.inertia
    )
    # Number clusters by size, largest first, so the ids of a rerun on the same data are the same.
    sizes = np.bincount(best.labels, minlength=clusters)
    order = np.argsort(-sizes, kind="stable")
    renumbered = np.empty(clusters, dtype=np.int64)
    renumbered[order] = np.arange(clusters)
    return Clustering(renumbered[best.labels], best.centroids[order], best.inertia)


def _seeds(points: FloatArray, clusters: int, rng: np.random.Generator) -> FloatArray:
    """k-means++: each next seed drawn with probability proportional to its squared distance to the
    nearest seed so far."""
    import numpy as np

    seeds = [points[rng.integers(len(points))]]
    nearest = ((points - seeds[0]) ** 2).sum(axis=1)
    for _ in range(1, clusters):
        total = nearest.sum()
        index = rng.choice(len(points), p=nearest / total) if total > 0 else rng.integers(len(points))
        seeds.append(points[index])
        nearest = np.minimum(nearest, ((points - points[index]) ** 2).sum(axis=1))
    return np.array(seeds)


def _lloyd(points: FloatArray, centroids: FloatArray) -> Clustering:
    """Assign to the nearest centroid, move centroids to their members' mean, until nothing moves."""
    import numpy as np

    labels = np.full(len(points), -1, dtype=np.int64)
    for _ in range(MAX_ITERATIONS):
        distances = ((points[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        assigned = distances.argmin(axis=1)
        if np.array_equal(assigned, labels):
            break
        labels = assigned
        for cluster in range(len(centroids)):
            members = points[labels == cluster]
            if len(members):  # an emptied cluster keeps its centroid
                centroids[cluster] = members.mean(axis=0)
    inertia = float(((points - centroids[labels]) ** 2).sum())
    return Clustering(labels, centroids, inertia)
