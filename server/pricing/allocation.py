"""Spreading an order-level amount over lines so the parts sum exactly.

``allocate(amount, weights, caps=..., keys=...)`` splits ``amount`` proportionally to
``weights`` by the largest-remainder method: every part gets the floor of its exact share,
then the leftover fen go one each to the parts with the largest remainders. Ties go to the
larger weight, then the smaller key, then the earlier index; with distinct keys the result
does not depend on the order of the inputs.

No part exceeds its cap (default: its weight, so no line goes below zero). A part that would
exceed its cap is fixed at the cap and the rest is re-spread over the other parts; if
``amount`` exceeds the sum of caps, the excess is returned as ``unallocated``.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec


class Allocation(msgspec.Struct, frozen=True, kw_only=True):
    """Parts in input order; ``sum(parts) + unallocated == amount``."""

    parts: tuple[int, ...]
    unallocated: int


def largest_remainder(
    amount: int, weights: Sequence[int], keys: Sequence[str] | None = None
) -> list[int]:
    """Split ``amount`` (>= 0) proportionally to ``weights`` (>= 0, not all 0), summing exactly."""
    total = sum(weights)
    if total <= 0:
        raise ValueError("weights must have a positive sum")
    parts: list[int] = []
    remainders: list[int] = []
    for weight in weights:
        part, rem = divmod(amount * weight, total)
        parts.append(part)
        remainders.append(rem)
    leftover = amount - sum(parts)
    if leftover:
        order = sorted(
            range(len(weights)),
            key=lambda i: (-remainders[i], -weights[i], keys[i] if keys is not None else "", i),
        )
        for i in order[:leftover]:
            parts[i] += 1
    return parts


def allocate(
    amount: int,
    weights: Sequence[int],
    *,
    caps: Sequence[int] | None = None,
    keys: Sequence[str] | None = None,
) -> Allocation:
    """Split ``amount`` over ``weights`` with caps and carry-over (see module docstring)."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    if any(weight < 0 for weight in weights):
        raise ValueError("weights must not be negative")
    limits = list(weights if caps is None else caps)
    if len(limits) != len(weights) or (keys is not None and len(keys) != len(weights)):
        raise ValueError("weights, caps and keys must have the same length")
    if any(limit < 0 for limit in limits):
        raise ValueError("caps must not be negative")
    count = len(weights)
    parts = [0] * count
    remaining = min(amount, sum(limits))
    unallocated = amount - remaining
    open_ = [i for i in range(count) if limits[i] > 0]
    while remaining > 0:
        open_weights = [weights[i] for i in open_]
        if sum(open_weights) == 0:
            # Only zero-weight lines still have room: spread by their room instead.
            open_weights = [limits[i] - parts[i] for i in open_]
        open_keys = None if keys is None else [keys[i] for i in open_]
        shares = largest_remainder(remaining, open_weights, open_keys)
        over = [(pos, i) for pos, i in enumerate(open_) if parts[i] + shares[pos] > limits[i]]
        if not over:
            for pos, i in enumerate(open_):
                parts[i] += shares[pos]
            remaining = 0
            break
        for _, i in over:
            remaining -= limits[i] - parts[i]
            parts[i] = limits[i]
        capped = {i for _, i in over}
        open_ = [i for i in open_ if i not in capped]
    return Allocation(parts=tuple(parts), unallocated=unallocated)
