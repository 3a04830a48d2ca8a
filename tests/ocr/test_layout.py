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


def test_axis_aligned_short_boxes_on_a_tilted_photo() -> None:
    # The detector often returns short boxes unrotated; their positions still show the tilt.
    def flat(text: str, x: float, y: float, width: float) -> TextLine:
        box = ((x, y), (x + width, y), (x + width, y + 24), (x, y + 24))
        return TextLine(text=text, box=box, score=0.99)

    slope = math.tan(math.radians(2.0))
    labels = ["小计:", "数量:6", "总金额:", "现金:", "找零:"]
    amounts = ["121.80", "", "121.80", "130.00", "8.20"]
    lines: list[TextLine] = []
    for i, (label, amount) in enumerate(zip(labels, amounts, strict=True)):
        y = 100 + i * 32
        lines.append(flat(label, 50, y + 50 * slope, 60))
        if amount:
            lines.append(flat(amount, 580, y + 600 * slope, 70))
    rows = [row.text for row in group_rows(lines)]
    assert rows == ["小计: 121.80", "数量:6", "总金额: 121.80", "现金: 130.00", "找零: 8.20"]
