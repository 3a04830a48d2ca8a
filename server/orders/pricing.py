"""An order's lines and totals: a cart priced for the dealer now, or a quote's pinned prices."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.service import sku_ids_by_code
from server.errors import Conflict, Invalid
from server.identity.principal import Principal
from server.orders.models import Order, OrderLine
from server.orders.schemas import OrderLineIn
from server.pricelists.cart import price_for_dealer
from server.pricelists.loading import PricingCache
from server.pricing import CartLine, RebateLine, is_promoted
from server.promotions import promotion_uses, snapshot_promotion_uses
from server.quotes.service import convert_for_order


class Priced(msgspec.Struct, kw_only=True):
    """The order's lines and totals as priced, and what promotions granted."""

    lines: list[OrderLine]
    list_amount: int
    discount: int
    amount: int
    fingerprint: str
    promotions: dict[str, int] = {}  # fen granted by each applied promotion, by code
    ended: tuple[str, ...] = ()  # promotions priced out: their budget ran out at placement
    promoted: tuple[bool, ...] = ()  # per line: a promotion touched it (the rebate cap's basis)

    def rebate_lines(self) -> list[RebateLine]:
        """The lines as the rebate cap sees them: SKU, payable, promoted."""
        flags = self.promoted or (False,) * len(self.lines)
        return [(ln.sku_code, ln.amount, p) for ln, p in zip(self.lines, flags, strict=True)]


class _SnapshotLine(msgspec.Struct, rename="camel"):
    sku: str
    gift: bool = False
    promotions: list[object] = []


class _Snapshot(msgspec.Struct):
    lines: list[_SnapshotLine] = []


def _promoted_skus(snapshot: object) -> frozenset[str]:
    """SKUs a promotion touched in a quote's pinned pricing (gift lines aside)."""
    pinned = msgspec.convert(snapshot or {}, _Snapshot)
    return frozenset(ln.sku for ln in pinned.lines if ln.promotions and not ln.gift)


async def price_cart(
    session: AsyncSession,
    cache: PricingCache,
    dealer_id: uuid.UUID,
    lines: Sequence[OrderLineIn],
    *,
    currency: str,
    now: datetime,
    ended: tuple[str, ...] = (),
    revision: int | None = None,
) -> Priced:
    """The cart priced for the dealer now, without the ``ended`` promotions."""
    if not lines:
        raise Invalid(
            "lines_empty",
            "订单至少需要一行商品",
            "An order needs at least one line",
            errors=[{"key": "lines", "message": "没有商品行", "message_en": "empty"}],
        )
    priced, rules = await price_for_dealer(
        session,
        cache,
        dealer_id,
        currency=currency,
        now=now,
        lines=[CartLine(sku=ln.sku, qty=ln.qty) for ln in lines],
        exclude_promotions=frozenset(ended),
        revision=revision,
    )
    ids = {code: rule.id for code, rule in rules.items() if rule.id is not None}
    unknown = {pl.sku for pl in priced.lines} - ids.keys()  # e.g. a gift of another SKU
    if unknown:
        ids.update(await sku_ids_by_code(session, unknown))
    out = [
        OrderLine(
            line=i,
            sku_id=ids[pl.sku],
            sku_code=pl.sku,
            sku_name=rules[pl.sku].name if pl.sku in rules else "",
            qty=pl.qty,
            gift=pl.gift,
            unit_price=pl.unit_price,
            amount=pl.amount,
        )
        for i, pl in enumerate(priced.lines)
    ]
    return Priced(
        lines=out,
        list_amount=priced.totals.list_amount,
        discount=priced.totals.discount,
        amount=priced.totals.payable,
        fingerprint=priced.basis.fingerprint,
        promotions=promotion_uses(priced),
        ended=ended,
        promoted=tuple(is_promoted(pl) for pl in priced.lines),
    )


async def price_quote(
    session: AsyncSession, actor: Principal, quote_id: uuid.UUID, now: datetime
) -> Priced:
    """The accepted quote's pinned lines and prices.

    A quote is a price both sides agreed on, possibly approved at that price: an order from
    it is never re-priced, so a quoted promotion whose budget ran out refuses the order (409
    ``budget_exhausted``) instead of placing it without the promotion.
    """
    taken = await session.scalar(select(Order.id).where(Order.quote_id == quote_id))
    if taken is not None:
        raise Conflict(
            "quote_already_ordered",
            "该报价已下过订单",
            "An order was already placed from this quote",
            orderId=str(taken),
        )
    quote = await convert_for_order(session, actor, quote_id, now)
    ids = await sku_ids_by_code(session, (ln.sku_code for ln in quote.lines))
    promoted = _promoted_skus(quote.snapshot)
    out = [
        OrderLine(
            line=i,
            sku_id=ids[ln.sku_code],
            sku_code=ln.sku_code,
            sku_name=ln.sku_name,
            qty=ln.qty,
            gift=ln.gift,
            unit_price=ln.amount // ln.qty if ln.qty else 0,
            amount=ln.amount,
        )
        for i, ln in enumerate(quote.lines)
    ]
    return Priced(
        lines=out,
        list_amount=quote.list_amount,
        discount=quote.list_amount - quote.amount,
        amount=quote.amount,
        fingerprint=quote.basis_fingerprint,
        promotions=snapshot_promotion_uses(quote.snapshot),
        promoted=tuple(ln.gift or ln.sku_code in promoted for ln in quote.lines),
    )


def spread_reserved(lines: list[OrderLine], reserved_by_sku: dict[uuid.UUID, int]) -> None:
    """Share what was reserved of each SKU over its lines, first lines first."""
    left = dict(reserved_by_sku)
    for ln in lines:
        take = min(ln.qty, left.get(ln.sku_id, 0))
        ln.reserved = take
        left[ln.sku_id] = left.get(ln.sku_id, 0) - take
