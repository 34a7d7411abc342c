import math

import numpy as np
import pytest

from facemotion.checks import is_whole


@pytest.mark.parametrize("value", [1, 7, np.int64(3), 10**12])
def test_whole_numbers_from_one_pass(value: object) -> None:
    assert is_whole(value)


@pytest.mark.parametrize("value", [0, -1, 2.5, 2.0, math.nan, math.inf, True, "3", None, np.float64(3)])
def test_other_values_fail(value: object) -> None:
    assert not is_whole(value)


def test_the_minimum_is_inclusive() -> None:
    assert is_whole(0, 0) and not is_whole(-1, 0) and not is_whole(False, 0)
