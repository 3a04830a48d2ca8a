"""Invoices (发票): dealers' invoice titles, invoice requests HQ issues or rejects, red letters.

Above orders (it reads their shipments through ``server.orders.invoicing``). Others use:

    request_red_invoice(session, order_id, refunded_total, reference, now)   after a refund
    invoicing_totals(session, dealer_id, until) -> StatementInvoicing        statements
"""

from server.invoices.models import InvoiceKind, InvoiceStatus, TitleKind
from server.invoices.reversal import request_red_invoice
from server.invoices.summary import invoicing_totals

__all__ = [
    "InvoiceKind",
    "InvoiceStatus",
    "TitleKind",
    "invoicing_totals",
    "request_red_invoice",
]
