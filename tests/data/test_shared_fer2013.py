"""Integration: both forms of ../shared/data/fer2013 give the canonical split, identical labels and pixels."""

from __future__ import annotations

import numpy as np
import pytest

from facemotion.data import load_fer2013
from tests.conftest import FER_CSV, FER_FOLDERS

pytestmark = pytest.mark.integration

EXPECTED = {"train": 28709, "val": 3589, "test": 3589}


@pytest.fixture(scope="module")
def both_forms(shared_dir, tmp_path_factory):
    cache = tmp_path_factory.mktemp("fer-cache")
    return load_fer2013(FER_CSV, cache_dir=cache), load_fer2013(FER_FOLDERS, cache_dir=cache), cache


def test_both_forms_agree(both_forms) -> None:
    table, folders, _ = both_forms
    for split, n in EXPECTED.items():
        assert len(table.split(split)) == n == len(folders.split(split))
        np.testing.assert_array_equal(table.split(split).class_counts(), folders.split(split).class_counts())
    assert table.val.class_counts()[1] == 56 and table.train.class_counts()[1] == 436
    assert table.content_hash() == folders.content_hash()


def test_second_load_reads_the_cache_not_the_source(both_forms, monkeypatch) -> None:
    _, _, cache = both_forms
    import facemotion.data as data_module

    monkeypatch.setattr(data_module, "read_folders", lambda _p: pytest.fail("decoded the JPEGs again"))
    assert len(load_fer2013(FER_FOLDERS, cache_dir=cache).train) == EXPECTED["train"]
