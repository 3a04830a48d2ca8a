"""A dealer's invoice titles (开票信息). The session is scoped to the caller's dealer, so another
dealer's title is simply not found (404)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.repository import get_or_404
from server.errors import Invalid
from server.invoices.models import InvoiceTitle
from server.invoices.schemas import TitleIn, TitleOut

MAX_TITLES = 20


def title_out(t: InvoiceTitle) -> TitleOut:
    return TitleOut(
        id=t.id,
        kind=t.kind,
        company_name=t.company_name,
        tax_id=t.tax_id,
        address=t.address,
        phone=t.phone,
        bank_name=t.bank_name,
        bank_account=t.bank_account,
        email=t.email,
        is_default=t.is_default,
        updated_at=t.updated_at,
    )


async def _clear_default(session: AsyncSession, dealer_id: uuid.UUID) -> None:
    await session.execute(
        update(InvoiceTitle)
        .where(InvoiceTitle.dealer_id == dealer_id)
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )


async def list_titles(session: AsyncSession) -> Sequence[InvoiceTitle]:
    """The dealer's titles, the default first."""
    stmt = select(InvoiceTitle).order_by(InvoiceTitle.is_default.desc(), InvoiceTitle.created_at)
    return (await session.execute(stmt)).scalars().all()


async def get_title(session: AsyncSession, title_id: uuid.UUID) -> InvoiceTitle:
    """One of the dealer's titles (404 ``invoice_title_not_found``)."""
    return await get_or_404(session, InvoiceTitle, title_id, "invoice_title")


async def create_title(session: AsyncSession, dealer_id: uuid.UUID, body: TitleIn) -> InvoiceTitle:
    """A new title (checked); the first one, or one marked so, becomes the default."""
    body = body.checked()
    count = await session.scalar(select(func.count()).select_from(InvoiceTitle)) or 0
    if count >= MAX_TITLES:
        raise Invalid(
            "invoice_title_limit",
            f"最多保存 {MAX_TITLES} 个开票信息",
            f"At most {MAX_TITLES} invoice titles",
        )
    if body.is_default or not count:
        await _clear_default(session, dealer_id)
    title = InvoiceTitle(
        id=uuid.uuid4(),
        dealer_id=dealer_id,
        **{f: getattr(body, f) for f in body.__struct_fields__},
    )
    title.is_default = body.is_default or not count
    session.add(title)
    await session.flush()
    return title


async def replace_title(
    session: AsyncSession, dealer_id: uuid.UUID, title_id: uuid.UUID, body: TitleIn
) -> InvoiceTitle:
    """Replace a title's fields (requests made earlier keep the copy they were made with)."""
    title = await get_title(session, title_id)
    body = body.checked()
    if body.is_default:
        await _clear_default(session, dealer_id)
    for name in body.__struct_fields__:
        if name != "is_default" or body.is_default:
            setattr(title, name, getattr(body, name))
    await session.flush()
    return title


async def delete_title(session: AsyncSession, title_id: uuid.UUID) -> None:
    """Forget a title (requests made with it keep their copy)."""
    title = await get_title(session, title_id)
    await session.delete(title)
    await session.flush()
