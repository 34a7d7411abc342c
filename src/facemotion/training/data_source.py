"""The training data of a run: any ``--data`` form, your own images cropped as ``predict`` crops them.

``training`` may use ``inference`` (it sits above it), so it is here that the face decoder is built and passed down
to :func:`facemotion.data.load_dataset`, which never imports ``faces`` itself.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from facemotion.data import FER2013, data_form, load_dataset
from facemotion.inference.rows import text_cells
from facemotion.training.config import TrainConfig

__all__ = ["load_training_data", "write_skipped", "data_record", "SKIPPED_FILE"]

SKIPPED_FILE = "skipped.csv"


def load_training_data(cfg: TrainConfig) -> FER2013:
    """The split arrays ``cfg`` names; your own images go through the face decoder of ``cfg.faces``."""
    decode = None
    if data_form(Path(cfg.data)) != "fer2013":
        from facemotion.inference.face_crops import face_decoder

        decode = face_decoder(cfg.faces)
    return load_dataset(cfg.data, decode=decode, labels=cfg.labels, val_fraction=cfg.val_fraction,
                        test_fraction=cfg.test_fraction, seed=cfg.seed, skip_bad=cfg.skip_bad)


def write_skipped(run_dir: Path, data: FER2013) -> Path | None:
    """``skipped.csv`` in the run folder: every file left out (unreadable with ``--skip-bad``, or no face found)."""
    skipped = data.notes.get("skipped") or []
    if not skipped:
        return None
    path = run_dir / SKIPPED_FILE
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "reason"])
        writer.writerows(text_cells([item["file"], item["reason"]] for item in skipped))
    return path


def data_record(data: FER2013) -> dict[str, Any]:
    """What config.json records of your own data beyond FER2013's fields: its form, labels, split and skips, so the
    split can be rebuilt (the same files, seed and fractions draw it again; the drawn files are listed)."""
    if not data.notes:
        return {}
    notes = data.notes
    return {"kind": notes.get("kind"), "labels": list(data.label_names), "split": notes.get("split"),
            "images": notes.get("images"), "skipped": len(notes.get("skipped") or []),
            "leaks": notes.get("leaks", 0)}
