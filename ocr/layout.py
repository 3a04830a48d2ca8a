"""Group text boxes into printed rows, correcting for the photo's rotation.

Sorting boxes by their y alone fails as soon as a receipt is photographed a few degrees
off: the label "合计" at the left edge and its amount at the right edge then differ in y
by more than a line height. We estimate the dominant text angle from the boxes' own top
edges, rotate the box centres back by it, and cluster on the rotated y.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from ocr.receipt import Row, TextLine


def _width_height(line: TextLine) -> tuple[float, float]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = line.box
    width = (math.hypot(x1 - x0, y1 - y0) + math.hypot(x2 - x3, y2 - y3)) / 2
    height = (math.hypot(x3 - x0, y3 - y0) + math.hypot(x2 - x1, y2 - y1)) / 2
    return width, height


def _center(line: TextLine) -> tuple[float, float]:
    xs = [p[0] for p in line.box]
    ys = [p[1] for p in line.box]
    return sum(xs) / 4, sum(ys) / 4


def text_angle(lines: list[TextLine] | tuple[TextLine, ...]) -> float:
    """Dominant text angle in radians (positive: text runs down to the right in image coords).

    Short boxes are often returned axis-aligned even on a tilted photo, so the boxes' own
    edges only give a first guess. The angle that best lines up boxes sitting side by side
    (a label at the left edge, its amount at the right) decides.
    """
    guess = _edge_angle(lines)
    if len(lines) < 3:
        return guess
    centers = np.array([_center(line) for line in lines], dtype=np.float64)
    heights = np.array([_width_height(line)[1] for line in lines], dtype=np.float64)
    unit = float(np.median(heights)) or 1.0
    first, second = np.triu_indices(len(lines), k=1)
    apart = np.abs(centers[first, 0] - centers[second, 0]) > 1.5 * unit
    close = np.abs(centers[first, 1] - centers[second, 1]) < 12 * unit
    first, second = first[apart & close], second[apart & close]
    if first.size < 2:
        return guess
    # Search near the edges' estimate: far from it, a label lines up with the amount of the
    # row above or below just as well (the angle of one line height across the receipt).
    candidates = guess + np.radians(np.arange(-2.5, 2.51, 0.1))
    sigma = 0.25 * unit
    scores = np.empty(candidates.size)
    for k, angle in enumerate(candidates):
        ry = centers[:, 1] * math.cos(angle) - centers[:, 0] * math.sin(angle)
        gap = (ry[first] - ry[second]) / sigma
        scores[k] = float(np.exp(-(gap * gap)).sum())
    best = float(scores.max())
    if best < 1.0:
        return guess
    # Among the near-best angles take the one closest to the boxes' own edges.
    near = candidates[scores >= 0.97 * best]
    return float(near[np.argmin(np.abs(near - guess))])


def _edge_angle(lines: list[TextLine] | tuple[TextLine, ...]) -> float:
    """Width-weighted median angle of the boxes' top and bottom edges."""
    angles: list[float] = []
    weights: list[float] = []
    for line in lines:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = line.box
        width, height = _width_height(line)
        if width < 1.5 * height or width < 8:
            continue  # short boxes give noisy angles
        top = math.atan2(y1 - y0, x1 - x0)
        bottom = math.atan2(y2 - y3, x2 - x3)
        angle = (top + bottom) / 2
        if abs(angle) < math.radians(30):
            angles.append(angle)
            weights.append(width)
    # Boxes snapped to the axes say nothing about the tilt when others are visibly tilted.
    tilted = [i for i, angle in enumerate(angles) if abs(angle) > 1e-4]
    if sum(weights[i] for i in tilted) >= 0.2 * sum(weights):
        angles = [angles[i] for i in tilted]
        weights = [weights[i] for i in tilted]
    if not angles:
        return 0.0
    # Weighted median: robust to a few oddly drawn boxes.
    order = sorted(range(len(angles)), key=lambda i: angles[i])
    half = sum(weights) / 2
    acc = 0.0
    for i in order:
        acc += weights[i]
        if acc >= half:
            return angles[i]
    return angles[order[-1]]


def group_rows(lines: list[TextLine] | tuple[TextLine, ...]) -> list[Row]:
    """Cluster boxes into rows (top to bottom), each row's boxes left to right."""
    if not lines:
        return []
    angle = text_angle(lines)
    cos_a, sin_a = math.cos(-angle), math.sin(-angle)
    placed: list[tuple[float, float, float, TextLine]] = []  # (ry, rx, height, line)
    for line in lines:
        cx, cy = _center(line)
        rx = cx * cos_a - cy * sin_a
        ry = cx * sin_a + cy * cos_a
        _, height = _width_height(line)
        placed.append((ry, rx, max(height, 1.0), line))
    placed.sort(key=lambda item: item[0])
    median_height = statistics.median(item[2] for item in placed)

    rows: list[list[tuple[float, float, float, TextLine]]] = []
    row_y: list[float] = []
    for item in placed:
        ry, _, height, _ = item
        tolerance = 0.5 * min(max(height, 0.6 * median_height), 1.5 * median_height)
        # Join the nearest recent row whose centre line is within half a line height.
        best: int | None = None
        best_gap = tolerance
        for index in range(len(rows) - 1, max(len(rows) - 4, -1), -1):
            gap = abs(ry - row_y[index])
            if gap <= best_gap:
                best, best_gap = index, gap
        if best is None:
            rows.append([item])
            row_y.append(ry)
        else:
            rows[best].append(item)
            row_y[best] = statistics.fmean(member[0] for member in rows[best])
    ordered = sorted(zip(row_y, rows, strict=True), key=lambda pair: pair[0])
    return [
        Row(cells=tuple(member[3] for member in sorted(members, key=lambda m: m[1])))
        for _, members in ordered
    ]
