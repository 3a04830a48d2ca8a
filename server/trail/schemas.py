"""What the approval trail answers (camelCase JSON)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from server.schemas import Response


class DocumentType(enum.StrEnum):
    """The kinds of document decisions are taken on."""

    PRICE_LIST = "price_list"
    PROMOTION = "promotion"
    QUOTE = "quote"
    ORDER = "order"
    CLAIM = "claim"
    CREDIT_LIMIT = "credit_limit"
    INVOICE = "invoice"
    RETURN = "return"
    ANNOUNCEMENT = "announcement"
    ORDER_SETTINGS = "order_settings"
    APPROVAL_FLOW = "approval_flow"


class DecisionOut(Response, kw_only=True):
    """One entry of the approval trail: the decision, its canonical JSON and its chain links."""

    seq: int
    at: datetime
    actor_id: uuid.UUID | None
    role: str
    document_type: str
    document_id: str
    content_hash: str
    outcome: str
    comment: str
    body: str
    prev_hash: str
    hash: str


class ChainHeadOut(Response, kw_only=True):
    """The last entry of the approval trail (seq 0 and 64 zeros before the first)."""

    seq: int
    hash: str
