"""Split.subset: the stratified quick-run subset."""

from __future__ import annotations

import numpy as np

from facemotion.data.splits import Split
from facemotion.labels import IMAGE_SIZE, NUM_CLASSES


def imbalanced_split() -> Split:
    """700 images in uneven classes (10 to 250 each), each with its index written in its pixels to trace it."""
    counts = [40, 10, 100, 250, 120, 80, 100]
    labels = np.repeat(np.arange(NUM_CLASSES), counts)
    images = np.zeros((len(labels), IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    images[:, 0, 0] = np.arange(len(labels)) % 256
    images[:, 0, 1] = np.arange(len(labels)) // 256
    return Split(images, labels)


def _index(split: Split) -> np.ndarray:
    return split.images[:, 0, 0].astype(int) + 256 * split.images[:, 0, 1].astype(int)


def test_subset_has_the_size_asked_and_the_class_mix_of_the_split() -> None:
    split = imbalanced_split()
    counts = split.class_counts()
    for n in (70, 140, 350):
        sub = split.subset(n, seed=3)
        assert len(sub) == n
        expected = counts * n / len(split)
        assert np.all(np.abs(sub.class_counts() - expected) <= 1), (n, sub.class_counts(), expected)
    assert split.subset(7).class_counts().tolist() == [1] * NUM_CLASSES  # round-robin: every class is seen


def test_subset_draws_real_pairs_without_repeats_reproducibly() -> None:
    split = imbalanced_split()
    sub = split.subset(140, seed=1)
    index = _index(sub)
    assert len(set(index.tolist())) == 140 and list(index) == sorted(index)  # no repeats, in the split's order
    np.testing.assert_array_equal(sub.labels, split.labels[index])  # each image keeps its own label
    again, other = split.subset(140, seed=1), split.subset(140, seed=2)
    np.testing.assert_array_equal(_index(again), index)
    assert not np.array_equal(_index(other), index)


def test_a_subset_as_large_as_the_split_is_the_split() -> None:
    split = imbalanced_split()
    assert split.subset(len(split)) is split and split.subset(10_000) is split
