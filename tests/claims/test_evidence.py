"""Which OCR boxes a receipt's fields were read from."""

from __future__ import annotations

from server.claims.evidence import field_boxes
from server.claims.schemas import BoxOut

BOX = [[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]]


def boxes(*texts: str) -> list[BoxOut]:
    return [BoxOut(text=t, box=BOX, score=0.9) for t in texts]


def test_each_field_marks_the_box_it_was_read_from() -> None:
    found = field_boxes(
        {"merchant": "联华超市", "receipt_no": "R-88", "date": "2026-12-02", "total": 3050},
        boxes(
            "联华超市 西湖店", "小票号 R-88", "2026/12/02 10:31", "可乐 30.50", "合计 30.50", "谢谢"
        ),
        [{"sku": "SKU1", "item_name": "可乐"}],
    )
    assert found == {0: "merchant", 1: "receipt_no", 2: "date", 4: "total", 3: "item"}


def test_nothing_read_marks_nothing() -> None:
    assert field_boxes(None, boxes("a", "b")) == {}
    assert field_boxes({"merchant": "别家"}, boxes("联华超市")) == {}
