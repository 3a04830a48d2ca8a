"""Announcements (公告): the list, a form that writes a draft, one announcement with publish
and withdraw buttons and who has read it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.params import QueryCode
from console.render import page
from console.session import requires_console
from server.announcements import (
    AnnouncementStatus,
    Audience,
    announcement_out,
    create_announcement,
    get_announcement,
    list_announcements,
    publish_announcement,
    read_report,
    withdraw_announcement,
)
from server.announcements.schemas import AnnouncementIn
from server.db.base import utcnow
from server.dealers.service import list_tiers
from server.errors import Invalid
from server.identity.principal import Principal
from server.text import multi_line, one_line

Short = Annotated[str, one_line(20)]


class AnnouncementForm(msgspec.Struct, kw_only=True):
    title_zh: Annotated[str, one_line(120)] = ""
    body_zh: Annotated[str, multi_line(5000)] = ""
    title_en: Annotated[str, one_line(120)] = ""
    body_en: Annotated[str, multi_line(5000)] = ""
    audience: Short = "all"
    targets: Annotated[str, one_line(4000)] = ""
    pinned: Short = ""
    expires_at: Short = ""


def _invalid(detail: str) -> Invalid:
    return Invalid(
        "announcement_form_invalid",
        f"公告表单填写有误：{detail}",
        f"Check the announcement form: {detail}",
    )


def announcement_in(data: AnnouncementForm, timezone: str) -> AnnouncementIn:
    """The form as the API's request body (the expiry typed in the brand's time zone)."""
    expires_at = None
    if data.expires_at.strip():
        try:
            expires_at = datetime.fromisoformat(data.expires_at.strip())
        except ValueError:
            raise _invalid("expires_at") from None
        expires_at = expires_at.replace(tzinfo=ZoneInfo(timezone))
    body = {
        "titleZh": data.title_zh,
        "bodyZh": data.body_zh.replace("\r\n", "\n"),
        "titleEn": data.title_en,
        "bodyEn": data.body_en.replace("\r\n", "\n"),
        "audience": data.audience,
        "targets": [t for t in data.targets.replace("，", ",").replace(",", " ").split() if t],
        "pinned": data.pinned == "on",
        "expiresAt": expires_at,
    }
    try:
        return msgspec.convert(body, AnnouncementIn)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc)) from exc


@get("/announcements", guards=[requires_console])
async def announcements(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    status: QueryCode = "",
) -> Template:
    """Every announcement, pinned first then newest."""
    chosen = status if status in {s.value for s in AnnouncementStatus} else None
    rows = await list_announcements(db_session, AnnouncementStatus(chosen) if chosen else None)
    return page(
        request,
        "announcements.html",
        announcements=[announcement_out(a) for a in rows],
        statuses=[s.value for s in AnnouncementStatus],
        status=chosen or "",
    )


@get("/announcements/new", guards=[requires_console])
async def new_announcement(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Template:
    """The form: each field says what it does."""
    return page(
        request,
        "announcement_new.html",
        audiences=[a.value for a in Audience],
        tiers=await list_tiers(db_session),
    )


@post("/announcements", guards=[requires_console])
async def create(
    state: State,
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    data: Annotated[AnnouncementForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    """Create the draft (the API's rules), then show it."""
    body = announcement_in(data, state.settings.timezone)
    a = await create_announcement(db_session, principal, body, utcnow())
    return Redirect(f"/console/announcements/{a.id}?done=created", status_code=303)


@get("/announcements/{announcement_id:uuid}", guards=[requires_console])
async def announcement_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    announcement_id: FromPath[uuid.UUID],
    done: QueryCode = "",
) -> Template:
    """One announcement: its text, audience, attachments and who has read it."""
    a = await get_announcement(db_session, announcement_id)
    report = await read_report(db_session, a.id) if a.published_at else None
    return page(
        request,
        "announcement.html",
        announcement=announcement_out(a),
        report=report,
        done=done,
    )


@post("/announcements/{announcement_id:uuid}/publish", guards=[requires_console])
async def publish(
    state: State,
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    announcement_id: FromPath[uuid.UUID],
) -> Redirect:
    """Send the draft to its dealers."""
    await publish_announcement(db_session, state.storage, principal, announcement_id, utcnow())
    return Redirect(f"/console/announcements/{announcement_id}?done=published", status_code=303)


@post("/announcements/{announcement_id:uuid}/withdraw", guards=[requires_console])
async def withdraw(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    announcement_id: FromPath[uuid.UUID],
) -> Redirect:
    """Take the announcement back from every node."""
    await withdraw_announcement(db_session, principal, announcement_id, utcnow())
    return Redirect(f"/console/announcements/{announcement_id}?done=withdrawn", status_code=303)


HANDLERS = (announcements, new_announcement, create, announcement_page, publish, withdraw)
