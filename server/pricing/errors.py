"""Pricing errors: one tree, each class with a stable machine ``code``.

    PricingError                   base; ``code``, zh-CN ``message``, en ``message_en``
    ├── LineError                  one cart line is wrong; carries ``line`` and ``sku``
    │   ├── SkuNotPriced           sku_not_priced: no applicable price list has it
    │   ├── CurrencyMismatch       currency_mismatch: priced only in other currencies
    │   ├── PriceConflict          price_conflict: two equally-ranked lists price it
    │   ├── QuantityNotPositive    quantity_not_positive
    │   ├── QuantityNotPackMultiple  quantity_not_pack_multiple
    │   ├── QuantityBelowMinimum   quantity_below_minimum
    │   └── DuplicateSku           duplicate_sku: one SKU on two cart lines
    ├── CartInvalid                cart_invalid: every LineError of one cart, in ``errors``
    ├── PromotionCurrencyMismatch  currency_mismatch: a fixed-amount rule in another currency
    └── InvalidBreakTable          invalid_break_table (also a ValueError); ``issues``

``price_cart`` collects all line errors and raises one ``CartInvalid``; ``details()`` gives
JSON-ready dicts for a problem+json 422 body.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import msgspec


class RuleRef(msgspec.Struct, frozen=True, kw_only=True):
    """A price list or rule pinned by id and version (re-exported by ``model``)."""

    id: str
    version: int


class PricingError(Exception):
    """Base of every pricing error."""

    code: ClassVar[str] = "pricing_error"

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message = message
        self.message_en = message_en

    def details(self) -> dict[str, object]:
        """JSON-ready description of this error."""
        return {"code": self.code, "message": self.message, "message_en": self.message_en}


class LineError(PricingError):
    """An error about one cart line (``line`` is its index in the request, -1 if none)."""

    def __init__(self, *, line: int, sku: str, message: str, message_en: str) -> None:
        super().__init__(message, message_en)
        self.line = line
        self.sku = sku

    def details(self) -> dict[str, object]:
        """JSON-ready description of this error, with the line and SKU."""
        out = super().details()
        out["line"] = self.line
        out["sku"] = self.sku
        return out


class SkuNotPriced(LineError):
    """No applicable price list prices the SKU for this dealer."""

    code = "sku_not_priced"

    def __init__(self, *, line: int, sku: str) -> None:
        super().__init__(
            line=line,
            sku=sku,
            message=f"商品 {sku} 没有适用于您的价格",
            message_en=f"SKU {sku} has no price for this dealer",
        )


class CurrencyMismatch(LineError):
    """The SKU is priced for this dealer, but only in other currencies."""

    code = "currency_mismatch"

    def __init__(self, *, line: int, sku: str, currency: str, found: Sequence[str]) -> None:
        super().__init__(
            line=line,
            sku=sku,
            message=f"商品 {sku} 没有 {currency} 价格（仅有 {', '.join(found)}）",
            message_en=f"SKU {sku} has no {currency} price (only {', '.join(found)})",
        )
        self.currency = currency
        self.found = tuple(found)

    def details(self) -> dict[str, object]:
        """JSON-ready description, with the wanted and the available currencies."""
        out = super().details()
        out["currency"] = self.currency
        out["found"] = list(self.found)
        return out


class PriceConflict(LineError):
    """Two or more equally-ranked price lists price the SKU: a configuration error."""

    code = "price_conflict"

    def __init__(self, *, line: int, sku: str, lists: Sequence[RuleRef]) -> None:
        names = ", ".join(f"{ref.id}@v{ref.version}" for ref in lists)
        super().__init__(
            line=line,
            sku=sku,
            message=f"商品 {sku} 的价格配置冲突（{names}），请联系总部",
            message_en=f"SKU {sku} is priced by equally-ranked lists: {names}",
        )
        self.lists = tuple(lists)

    def details(self) -> dict[str, object]:
        """JSON-ready description, with the conflicting lists."""
        out = super().details()
        out["lists"] = [{"id": ref.id, "version": ref.version} for ref in self.lists]
        return out


class QuantityNotPositive(LineError):
    """Quantity is zero or negative."""

    code = "quantity_not_positive"

    def __init__(self, *, line: int, sku: str, qty: int) -> None:
        super().__init__(
            line=line,
            sku=sku,
            message=f"商品 {sku} 的数量必须大于 0（当前 {qty}）",
            message_en=f"quantity of {sku} must be positive (got {qty})",
        )
        self.qty = qty


class QuantityNotPackMultiple(LineError):
    """The SKU ships in whole cases and the quantity is not a multiple of the pack size."""

    code = "quantity_not_pack_multiple"

    def __init__(self, *, line: int, sku: str, qty: int, pack_size: int) -> None:
        super().__init__(
            line=line,
            sku=sku,
            message=f"商品 {sku} 须按整箱订购（每箱 {pack_size}），当前 {qty}",
            message_en=f"{sku} is sold in whole cases of {pack_size} (got {qty})",
        )
        self.qty = qty
        self.pack_size = pack_size

    def details(self) -> dict[str, object]:
        """JSON-ready description, with the pack size."""
        out = super().details()
        out["pack_size"] = self.pack_size
        return out


class QuantityBelowMinimum(LineError):
    """Quantity is below the SKU's minimum order quantity."""

    code = "quantity_below_minimum"

    def __init__(self, *, line: int, sku: str, qty: int, min_qty: int) -> None:
        super().__init__(
            line=line,
            sku=sku,
            message=f"商品 {sku} 起订量为 {min_qty}（当前 {qty}）",
            message_en=f"minimum order quantity of {sku} is {min_qty} (got {qty})",
        )
        self.qty = qty
        self.min_qty = min_qty

    def details(self) -> dict[str, object]:
        """JSON-ready description, with the minimum."""
        out = super().details()
        out["min_qty"] = self.min_qty
        return out


class DuplicateSku(LineError):
    """The same SKU appears on more than one cart line."""

    code = "duplicate_sku"

    def __init__(self, *, line: int, sku: str, first_line: int) -> None:
        super().__init__(
            line=line,
            sku=sku,
            message=f"商品 {sku} 在购物车中重复（第 {first_line + 1} 行已有）",
            message_en=f"SKU {sku} is already on line {first_line + 1}",
        )
        self.first_line = first_line


class CartInvalid(PricingError):
    """Every line error of one cart, collected."""

    code = "cart_invalid"

    def __init__(self, errors: Sequence[LineError]) -> None:
        super().__init__(
            f"购物车有 {len(errors)} 处错误",
            f"cart has {len(errors)} invalid line(s): "
            + ", ".join(f"{e.code}@{e.line}" for e in errors),
        )
        self.errors = tuple(errors)

    def details(self) -> dict[str, object]:
        """JSON-ready description, with every line error under ``errors``."""
        out = super().details()
        out["errors"] = [e.details() for e in self.errors]
        return out


class PromotionCurrencyMismatch(PricingError):
    """A fixed-amount promotion is configured in another currency than the cart."""

    code = "currency_mismatch"

    def __init__(self, *, rule: RuleRef, currency: str, cart_currency: str) -> None:
        super().__init__(
            f"促销 {rule.id} 的币种 {currency} 与订单币种 {cart_currency} 不一致",
            f"promotion {rule.id}@v{rule.version} is in {currency}, the cart in {cart_currency}",
        )
        self.rule = rule
        self.currency = currency
        self.cart_currency = cart_currency

    def details(self) -> dict[str, object]:
        """JSON-ready description, with the rule and both currencies."""
        out = super().details()
        out["rule"] = {"id": self.rule.id, "version": self.rule.version}
        out["currency"] = self.currency
        out["cart_currency"] = self.cart_currency
        return out


class BreakIssue(msgspec.Struct, frozen=True, kw_only=True):
    """One problem in a volume-break table; ``row`` is the break's index (None: whole table).

    ``message`` is zh-CN, ``message_en`` English (the ``breaks.*`` entries of the catalogue).
    """

    row: int | None
    code: str
    message: str
    message_en: str


class InvalidBreakTable(PricingError, ValueError):
    """A volume-break table is unsorted, overlapping, gapped or has rising prices."""

    code = "invalid_break_table"

    def __init__(self, sku: str, issues: Sequence[BreakIssue]) -> None:
        zh = "；".join(issue.message for issue in issues)
        en = "; ".join(issue.message_en for issue in issues)
        super().__init__(f"商品 {sku} 的阶梯价无效：{zh}", f"invalid volume breaks for {sku}: {en}")
        self.sku = sku
        self.issues = tuple(issues)

    def details(self) -> dict[str, object]:
        """JSON-ready description, with every issue."""
        out = super().details()
        out["sku"] = self.sku
        out["issues"] = [
            {
                "row": issue.row,
                "code": issue.code,
                "message": issue.message,
                "message_en": issue.message_en,
            }
            for issue in self.issues
        ]
        return out
