"""Offline invoice mutations: ``invoice.request`` (business key: the request's id) and
``invoice.cancel``. Business refusals are ``Rejected`` with the error's code and both texts;
the request's state reaches the device through the ``dealer:`` scope."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import ChannelhubError
from server.invoices import service
from server.invoices.presenter import invoice_payload
from server.invoices.schemas import InvoiceRequestIn
from server.orders.mutations import actor_of, rejection
from sync import Applied, MutationContext, MutationRegistry, Outcome, Rejected, SyncPrincipal


class CancelArgs(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    id: uuid.UUID


def register_invoice_mutations(registry: MutationRegistry) -> None:
    """Register ``invoice.request`` and ``invoice.cancel`` with the sync engine."""

    async def request(
        session: AsyncSession, who: SyncPrincipal, args: InvoiceRequestIn, ctx: MutationContext
    ) -> Outcome:
        if ctx.business_key is not None and ctx.business_key != str(args.id):
            return Rejected(reason="business_key_mismatch", detail={"expected": str(args.id)})
        try:
            invoice, _ = await service.request_invoice(session, actor_of(who), args, ctx.now)
        except ChannelhubError as exc:
            return rejection(exc)
        return Applied(detail=invoice_payload(invoice))

    async def cancel(
        session: AsyncSession, who: SyncPrincipal, args: CancelArgs, ctx: MutationContext
    ) -> Outcome:
        try:
            invoice = await service.cancel_invoice(session, actor_of(who), args.id, ctx.now)
        except ChannelhubError as exc:
            return rejection(exc)
        return Applied(detail=invoice_payload(invoice))

    registry.register("invoice.request", InvoiceRequestIn, request)
    registry.register("invoice.cancel", CancelArgs, cancel)
