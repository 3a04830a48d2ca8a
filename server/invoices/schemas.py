"""Invoice shapes at the API edge (and in sync payloads), and the tax id's own rule.

A tax id (纳税人识别号) is an 18-character unified social credit code (统一社会信用代码,
GB 32100-2015) whose last character is a check character over the first 17, or one of the
older taxpayer numbers still on some titles (15 or 20 characters). A title for a special VAT
invoice (专票) must also carry the company's address, phone, bank and account.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from server.errors import Invalid
from server.invoices.models import InvoiceKind, InvoiceStatus, TitleKind
from server.schemas import Request, Response
from server.text import multi_line, one_line

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

CompanyName = Annotated[str, one_line(100, min_length=2)]
TaxId = Annotated[str, one_line(20, min_length=15, pattern=r"^[0-9A-Za-z]+$")]
Address = Annotated[str, one_line(128)]
Phone = Annotated[str, one_line(32, pattern=r"^([0-9+\-() ]{5,32})?$")]
BankName = Annotated[str, one_line(64)]
BankAccount = Annotated[str, one_line(40, pattern=r"^([0-9 \-]{6,40})?$")]
Email = Annotated[str, one_line(128, pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")]
Note = Annotated[str, one_line(200)]
Reason = Annotated[str, multi_line(500, min_length=1)]
InvoiceNumber = Annotated[str, one_line(20, min_length=8, pattern=r"^[0-9]{8,20}$")]
IdList = Annotated[list[uuid.UUID], msgspec.Meta(max_length=200)]


def tax_id_valid(value: str) -> bool:
    """An 18-character credit code with a matching check character, or a 15/20-character
    older taxpayer number (digits and capitals)."""
    value = value.upper()
    if len(value) == 18:
        if not set(value) <= set(_USCC_CHARS):
            return False
        total = sum(_USCC_CHARS.index(c) * w for c, w in zip(value, _USCC_WEIGHTS, strict=False))
        return _USCC_CHARS[(31 - total % 31) % 31] == value[17]
    return len(value) in (15, 20) and value.isalnum() and value.isascii()


class TitleIn(Request, kw_only=True):
    kind: TitleKind = TitleKind.GENERAL
    company_name: CompanyName
    tax_id: TaxId
    address: Address = ""
    phone: Phone = ""
    bank_name: BankName = ""
    bank_account: BankAccount = ""
    email: Email = ""
    is_default: bool = False

    def checked(self) -> TitleIn:
        """The title with its tax id in capitals, or 422 naming what is wrong."""
        errors = []
        if not tax_id_valid(self.tax_id):
            errors.append(
                {"key": "taxId", "message": "纳税人识别号无效", "message_en": "invalid tax id"}
            )
        if self.kind is TitleKind.SPECIAL:
            for key in ("address", "phone", "bank_name", "bank_account"):
                if not getattr(self, key).strip():
                    camel = "".join(p.title() if i else p for i, p in enumerate(key.split("_")))
                    errors.append(
                        {"key": camel, "message": "专票必填", "message_en": "required for special"}
                    )
        if errors:
            raise Invalid(
                "invoice_title_invalid",
                "开票信息不完整或纳税人识别号无效（专票需填写地址、电话、开户行和账号）",
                "The invoice title is incomplete or its tax id is invalid (a special VAT"
                " invoice needs address, phone, bank and account)",
                errors=errors,
            )
        return msgspec.structs.replace(self, tax_id=self.tax_id.upper())


class TitleOut(Response, kw_only=True):
    id: uuid.UUID
    kind: TitleKind
    company_name: str
    tax_id: str
    address: str
    phone: str
    bank_name: str
    bank_account: str
    email: str
    is_default: bool
    updated_at: datetime


class InvoiceRequestIn(Request, kw_only=True):
    """Invoice these orders (every shipment not yet invoiced; each order fully shipped) and
    these shipments. ``id`` is the client's: repeating a request with it changes nothing."""

    id: uuid.UUID
    title_id: uuid.UUID
    order_ids: IdList = []
    shipment_ids: IdList = []
    note: Note = ""


class InvoiceCover(Response, kw_only=True):
    """What the invoice covers of one shipment (a red invoice: of one order)."""

    shipment_id: uuid.UUID | None = None
    order_id: uuid.UUID
    goods: int
    rebate: int
    amount: int


class Explanation(Response, kw_only=True):
    zh: str
    en: str


class InvoiceOut(Response, kw_only=True):
    id: uuid.UUID
    dealer_id: uuid.UUID
    kind: InvoiceKind
    status: InvoiceStatus
    title: dict[str, object]
    currency: str
    goods: int
    rebate: int
    amount: int
    covers: list[InvoiceCover]
    explanation: Explanation
    original_id: uuid.UUID | None = None
    reference: str | None = None
    note: str
    reason: str
    number: str | None = None
    pdf_url: str | None = None
    requested_at: datetime
    decided_at: datetime | None = None
    version: int


class PdfPresignOut(Response, kw_only=True):
    key: str
    url: str
    fields: dict[str, str]
    expires_at: int
    max_bytes: int


class IssueIn(Request, kw_only=True):
    """The e-invoice's number; its PDF was posted with the presigned form first."""

    number: InvoiceNumber


class RejectIn(Request, kw_only=True):
    reason: Reason


class InvoiceSummaryOut(Response, kw_only=True):
    """A dealer's invoicing for shipments up to ``asOf`` (fen): shipped at the price paid
    less rebate; requested and not yet issued; issued (blue less red); not yet requested."""

    dealer_id: uuid.UUID
    currency: str
    as_of: date | None = None
    shipped: int
    requested: int
    invoiced: int
    uninvoiced: int


StatusFilter = Literal["requested", "issued", "rejected", "cancelled"]
