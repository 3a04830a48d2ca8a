from __future__ import annotations

import pytest

from server.pricing import allocate
from server.pricing.allocation import largest_remainder


def test_proportional_split_with_largest_remainder() -> None:
    # 100 over 1:1:1 -> 33.33 each; the leftover fen goes to the smallest key on a tie.
    assert allocate(100, [300, 300, 300], keys=["c", "a", "b"]).parts == (33, 34, 33)


def test_remainders_decide_who_gets_the_leftover_fen() -> None:
    # exact shares: 10 * 5/9 = 5.56, 10 * 3/9 = 3.33, 10 * 1/9 = 1.11
    assert largest_remainder(10, [5, 3, 1]) == [6, 3, 1]


def test_parts_sum_exactly_and_follow_weights() -> None:
    result = allocate(1000, [10800, 3397, 54500])
    assert sum(result.parts) == 1000
    assert result.unallocated == 0
    # exact: 157.21, 49.45, 793.34 -> floors 157, 49, 793; the leftover fen to 49.45
    assert result.parts == (157, 50, 793)


def test_no_part_exceeds_its_line_and_excess_is_unallocated() -> None:
    result = allocate(500, [100, 200])
    assert result.parts == (100, 200)
    assert result.unallocated == 200


def test_capped_parts_carry_over_to_other_lines() -> None:
    # By weight 1:1 each would get 50, but the first line has only 10 of room.
    result = allocate(100, [100, 100], caps=[10, 200])
    assert result.parts == (10, 90)
    assert result.unallocated == 0


def test_zero_weight_lines_get_nothing() -> None:
    assert allocate(7, [0, 10, 0]).parts == (0, 7, 0)
    assert allocate(7, [0, 0]).parts == (0, 0)
    assert allocate(7, [0, 0]).unallocated == 7


def test_result_does_not_depend_on_input_order_with_keys() -> None:
    forward = allocate(10, [3, 3, 3], keys=["x", "y", "z"]).parts
    backward = allocate(10, [3, 3, 3], keys=["z", "y", "x"]).parts
    assert dict(zip("xyz", forward, strict=True)) == dict(zip("zyx", backward, strict=True))


def test_invalid_input_is_refused() -> None:
    with pytest.raises(ValueError, match="amount"):
        allocate(-1, [1])
    with pytest.raises(ValueError, match="weights"):
        allocate(1, [-1])
    with pytest.raises(ValueError, match="same length"):
        allocate(1, [1], caps=[1, 2])
