"""Integer fen arithmetic: the only places where pricing rounds.

Rounding rule: **half-up** (四舍五入) on non-negative amounts, the rule dealers and
finance expect on a Chinese invoice. Percent rates are integer basis points (1 bp = 0.01%),
so no float ever enters a money computation. A rounding adjustment is reported as a
``Decimal`` number of fen, ``rounded - exact``, to 4 decimal places (informational only).
"""

from __future__ import annotations

from decimal import Decimal

BASIS_POINTS = 10_000
ZERO_ADJUSTMENT = Decimal(0)
_ADJUSTMENT_SCALE = 10_000


def div_round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up; both non-negative, denominator > 0."""
    return (2 * numerator + denominator) // (2 * denominator)


def rounding_adjustment(rounded: int, numerator: int, denominator: int) -> Decimal:
    """``rounded - numerator / denominator`` in fen, to 4 decimal places (half-up)."""
    delta_num = rounded * denominator - numerator
    if delta_num == 0:
        return ZERO_ADJUSTMENT
    sign = -1 if delta_num < 0 else 1
    scaled = div_round_half_up(abs(delta_num) * _ADJUSTMENT_SCALE, denominator)
    return Decimal(sign * scaled).scaleb(-4)


def percent_of(amount: int, basis_points: int) -> tuple[int, Decimal]:
    """``amount * basis_points / 10000`` rounded half-up, and the rounding adjustment."""
    numerator = amount * basis_points
    rounded = div_round_half_up(numerator, BASIS_POINTS)
    return rounded, rounding_adjustment(rounded, numerator, BASIS_POINTS)


def format_fen(amount: int) -> str:
    """Render fen as yuan for human messages, e.g. ``12345 -> '123.45'``."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 100)
    return f"{sign}{whole}.{frac:02d}"


def format_basis_points(basis_points: int) -> str:
    """Render a rate for human messages, e.g. ``1250 -> '12.5%'``."""
    whole, frac = divmod(basis_points, 100)
    return f"{whole}%" if frac == 0 else f"{whole}.{frac:02d}".rstrip("0") + "%"
