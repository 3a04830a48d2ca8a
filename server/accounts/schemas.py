"""Accounts API bodies. Amounts are integer fen."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from server.accounts.ledger import MAX_AMOUNT, Balances
from server.accounts.models import AccountKind, EntryKind, HoldStatus
from server.approvals.schemas import TaskOut
from server.messages import current_language, texts
from server.pricing import format_basis_points, with_exclusions
from server.schemas import ReasonText, Request, Response
from server.text import multi_line, one_line

Amount = Annotated[int, msgspec.Meta(ge=1, le=MAX_AMOUNT)]
SignedAmount = Annotated[int, msgspec.Meta(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
Reason = Annotated[str, multi_line(256, min_length=1)]
IdempotencyKey = Annotated[str, one_line(64, pattern=r"^[A-Za-z0-9_.:-]{8,64}$")]
FundAccount = Literal["prepaid", "credit", "rebate"]


class TopUpIn(Request, kw_only=True):
    """Money in: a deposit to prepaid, a credit repayment, or a rebate granted."""

    account: FundAccount
    amount: Amount
    reason: Reason
    idempotency_key: IdempotencyKey


class AdjustmentIn(Request, kw_only=True):
    """A correction of one fund account, up or down (never below its floor)."""

    account: FundAccount
    amount: SignedAmount
    reason: Reason
    idempotency_key: IdempotencyKey


class CreditLimitIn(Request, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT)]
    reason: Reason


class CreditRequestOut(Response, kw_only=True):
    """A credit limit change: ``applied`` with the new balances, or waiting in ``approval``."""

    applied: bool
    balances: BalancesOut | None = None
    approval: TaskOut | None = None


class BalancesOut(Response, kw_only=True):
    dealer_id: uuid.UUID
    currency: str
    prepaid: int
    rebate: int
    credit_limit: int
    credit_used: int
    credit_available: int
    held: int
    available: int
    """Prepaid plus available credit: what any order can draw on (rebate is not in it)."""
    rebate_available: int
    """Rebate that orders may spend, each up to its cap (0 when the tier allows none)."""
    rebate_cap_bp: int
    """Share of an order's eligible goods amount rebate may pay (basis points)."""
    rebate_excluded_categories: list[str]
    rebate_excludes_promoted: bool
    uses_rebate: bool
    """Whether orders that do not say spend rebate (the dealer's default)."""
    rebate_rule: ReasonText
    """The cap in words (zh-CN and English)."""


def balances_out(b: Balances) -> BalancesOut:
    """The balances as the API shows them, the rebate cap explained."""
    terms = b.rebate_terms
    if terms.cap_bp > 0:
        rule = with_exclusions(
            texts("balances.rebate_rule", cap_rate=format_basis_points(terms.cap_bp)),
            terms.excluded_categories,
            terms.excludes_promoted,
        )
        code = "rebate_rule"
    else:
        rule, code = texts("balances.rebate_not_allowed"), "rebate_not_allowed"
    return BalancesOut(
        dealer_id=b.dealer_id,
        currency=b.currency,
        prepaid=b.prepaid,
        rebate=b.rebate,
        credit_limit=b.credit_limit,
        credit_used=b.credit_used,
        credit_available=b.credit_available,
        held=b.held,
        available=b.available,
        rebate_available=b.rebate_available,
        rebate_cap_bp=terms.cap_bp,
        rebate_excluded_categories=list(terms.excluded_categories),
        rebate_excludes_promoted=terms.excludes_promoted,
        uses_rebate=terms.uses_rebate,
        rebate_rule=ReasonText(
            code=code,
            message=rule.en if current_language() == "en" else rule.zh,
            zh=rule.zh,
            en=rule.en,
        ),
    )


class EntryOut(Response, kw_only=True):
    id: uuid.UUID
    dealer_id: uuid.UUID
    kind: EntryKind
    account: AccountKind | None
    amount: int
    reason: str
    reference: str
    created_at: datetime
    replayed: bool
    balances: BalancesOut


class HoldOut(Response, kw_only=True):
    id: uuid.UUID
    dealer_id: uuid.UUID
    reference: str
    amount: int
    prepaid: int
    credit: int
    rebate: int
    captured: int
    released: int
    status: HoldStatus


class StatementLineOut(Response, kw_only=True):
    at: datetime
    entry_id: uuid.UUID
    kind: EntryKind
    reference: str
    reason: str
    amount: int
    balance: int


class StatementAccountOut(Response, kw_only=True):
    account: AccountKind
    opening: int
    credits: int
    debits: int
    closing: int
    lines: list[StatementLineOut]


class StatementInvoicing(Response, kw_only=True):
    """Invoicing at the period's end (fen): goods shipped at the price paid less rebate; on
    requests not yet issued; issued (blue less red); not yet on any request."""

    shipped: int
    requested: int
    invoiced: int
    uninvoiced: int


class StatementOut(Response, kw_only=True):
    dealer_id: uuid.UUID
    dealer_code: str
    dealer_name: str
    currency: str
    start: date
    end: date
    timezone: str
    accounts: list[StatementAccountOut]
    invoicing: StatementInvoicing | None = None


ExportFormat = Literal["xlsx", "csv"]
