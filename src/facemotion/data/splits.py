"""The fixed FER2013 split: Training -> train, PublicTest -> val (selection), PrivateTest -> test (report once).

Every reader returns these arrays, FER2013's and your own data's alike (:mod:`facemotion.data.own`); a data set with
other labels than FER2013's names them in ``label_names``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from facemotion.labels import EMOTIONS, IMAGE_SIZE, NUM_CLASSES

__all__ = ["USAGE_TO_SPLIT", "SPLIT_TO_USAGE", "SPLITS", "Split", "FER2013"]

USAGE_TO_SPLIT: dict[str, str] = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
SPLIT_TO_USAGE: dict[str, str] = {split: usage for usage, split in USAGE_TO_SPLIT.items()}
"""``train`` -> ``Training``, ``val`` -> ``PublicTest``, ``test`` -> ``PrivateTest``: how reports name a split."""
SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """Images ``(N, 48, 48)`` uint8 and labels ``(N,)`` int64 of one split."""

    images: np.ndarray
    labels: np.ndarray

    @classmethod
    def from_lists(cls, images: list[np.ndarray], labels: list[int]) -> Split:
        """Stack per-image arrays; an empty list gives an empty split of the right shape."""
        if not images:
            return cls(np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8), np.zeros(0, np.int64))
        return cls(np.stack(images), np.asarray(labels, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def class_counts(self, num_classes: int = NUM_CLASSES) -> np.ndarray:
        """Images per label, in label order."""
        return np.bincount(self.labels, minlength=num_classes)

    def subset(self, n: int, seed: int = 0) -> Split:
        """A stratified random subset of ``n`` images, for quick runs that still see every class."""
        if n >= len(self):
            return self
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(self))
        labels = self.labels[order]
        # Round-robin over classes in shuffled order keeps the class mix close to the full split's.
        rank = np.empty(len(self), dtype=np.int64)
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            rank[idx] = np.arange(idx.size) * len(self) // idx.size
        keep = np.sort(order[np.argsort(rank, kind="stable")[:n]])
        return Split(self.images[keep], self.labels[keep])


@dataclass(frozen=True)
class FER2013:
    """The three splits, where they came from, and the names of their labels (index ``i`` is ``label_names[i]``).

    ``notes`` holds what a reader of your own data records for the run folder: its form, how it was split (to
    rebuild the split), the files it skipped and why, duplicates across splits.
    """

    train: Split
    val: Split
    test: Split
    source: str
    label_names: tuple[str, ...] = EMOTIONS
    notes: dict[str, Any] = field(default_factory=dict, compare=False)

    def split(self, name: str) -> Split:
        """The split called ``train``, ``val`` or ``test``."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return getattr(self, name)

    def content_hash(self) -> str:
        """sha256 over every (split, label, pixels) triple, independent of row order.

        The CSV and the image folders list the same images in different orders; both give the same hash,
        so a run records exactly which data it saw whichever form it was read from.
        """
        digest = hashlib.sha256()
        if self.label_names != EMOTIONS:  # FER2013's hash stays what it always was
            digest.update(repr(self.label_names).encode())
        for name in SPLITS:
            part = self.split(name)
            images = np.ascontiguousarray(part.images)
            items = sorted(hashlib.sha1(images[i].data).digest() + bytes([int(part.labels[i])])
                           for i in range(len(part)))
            digest.update(name.encode())
            digest.update(b"".join(items))
        return digest.hexdigest()[:16]
