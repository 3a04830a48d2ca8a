"""Row grouping of text boxes on photos rotated a few degrees."""

from __future__ import annotations

import math

import pytest

from ocr.layout import group_rows, text_angle
from ocr.receipt import Quad, TextLine


def rotated_box(x: float, y: float, width: float, height: float, degrees: float) -> Quad:
    angle = math.radians(degrees)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    corners = ((x, y), (x + width, y), (x + width, y + height), (x, y + height))
    p = [(px * cos_a - py * sin_a, px * sin_a + py * cos_a) for px, py in corners]
    return (p[0], p[1], p[2], p[3])


def receipt_boxes(degrees: float) -> list[TextLine]:
    lines: list[TextLine] = []
    pairs = [("合计", "186.30"), ("现金", "200.00"), ("找零", "13.70"), ("TOTAL", "31.25")]
    for i, (label, amount) in enumerate(pairs):
        y = 100 + i * 32
        lines.append(TextLine(text=label, box=rotated_box(20, y, 60, 22, degrees), score=0.99))
        lines.append(TextLine(text=amount, box=rotated_box(560, y, 80, 22, degrees), score=0.99))
    return lines


@pytest.mark.parametrize("degrees", [-7.0, -5.0, -3.0, 0.0, 3.0, 5.0, 7.0])
def test_label_and_amount_share_a_row_when_rotated(degrees: float) -> None:
    rows = group_rows(receipt_boxes(degrees))
    assert [row.text for row in rows] == [
        "合计 186.30",
        "现金 200.00",
        "找零 13.70",
        "TOTAL 31.25",
    ]


def test_sorting_by_y_alone_would_fail_at_five_degrees() -> None:
    # Guards the test above: without de-skewing, the amounts drift a whole row away.
    lines = receipt_boxes(5.0)
    label_y = sum(p[1] for p in lines[2].box) / 4  # "现金"
    amount_y = sum(p[1] for p in lines[1].box) / 4  # "186.30" of the row above
    assert abs(label_y - amount_y) < 22


def test_angle_is_estimated_from_the_boxes() -> None:
    assert math.degrees(text_angle(receipt_boxes(4.0))) == pytest.approx(4.0, abs=0.3)


def test_empty() -> None:
    assert group_rows([]) == []
