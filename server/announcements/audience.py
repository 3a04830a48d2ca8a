"""Who an announcement is for: targets checked when written, sync scopes, and matching.

Scopes: ``notice:all`` (every dealer), ``notice:tier:{code}``, ``notice:region:{code}`` (a
dealer subscribes to its regions and their ancestors, so a province's announcement reaches
its cities' dealers) and, for named dealers, each dealer's own ``dealer:{id}``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.announcements.models import Announcement, Audience
from server.dealers import active_dealer_pricing_facts, known_dealer_ids, tier_codes
from server.errors import Invalid
from server.pricing import DealerFacts
from server.regions import known_region_codes

ALL_NOTICES = "notice:all"


def notice_scopes(tier: str, region_codes: list[str]) -> set[str]:
    """The announcement scopes of a dealer of ``tier`` in these regions (ancestors included)."""
    return {ALL_NOTICES, f"notice:tier:{tier}", *(f"notice:region:{c}" for c in region_codes)}


def sync_scopes(a: Announcement) -> list[str]:
    """The sync scopes whose nodes must receive this announcement."""
    prefix = {
        Audience.ALL: "",
        Audience.TIERS: "notice:tier:",
        Audience.REGIONS: "notice:region:",
        Audience.DEALERS: "dealer:",
    }[a.audience]
    return [f"{prefix}{t}" for t in sorted(a.targets)] if prefix else [ALL_NOTICES]


def reaches(a: Announcement, facts: DealerFacts) -> bool:
    """Whether the announcement is for this dealer."""
    targets = set(a.targets)
    match a.audience:
        case Audience.ALL:
            return True
        case Audience.TIERS:
            return facts.tier in targets
        case Audience.REGIONS:
            return any(r.code in targets for r in facts.regions)
        case Audience.DEALERS:
            return facts.id in targets


async def audience_of(session: AsyncSession, a: Announcement) -> set[uuid.UUID]:
    """Every active dealer the announcement is for (whom a notification goes to)."""
    facts = await active_dealer_pricing_facts(session)
    return {uuid.UUID(f.id) for f in facts if reaches(a, f)}


def _unknown(key: str, values: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "key": "targets",
            "code": f"{key}_unknown",
            "target": v,
            "message": f"目标 {v} 不存在",
            "message_en": f"unknown target {v}",
        }
        for v in values
    ]


async def _unknown_targets(
    session: AsyncSession, audience: Audience, wanted: list[str]
) -> list[Any]:
    if audience is Audience.TIERS:
        known = set(await tier_codes(session))
        return _unknown("tier", [t for t in wanted if t not in known])
    if audience is Audience.REGIONS:
        known = await known_region_codes(session, wanted)
        return _unknown("region", [t for t in wanted if t not in known])
    ids: dict[str, uuid.UUID | None] = {}
    for t in wanted:
        try:
            ids[t] = uuid.UUID(t)
        except ValueError:
            ids[t] = None
    found = await known_dealer_ids(session, {i for i in ids.values() if i is not None})
    return _unknown("dealer", [t for t, i in ids.items() if i not in found])


async def checked_targets(
    session: AsyncSession, audience: Audience, targets: list[str]
) -> list[str]:
    """The targets, deduplicated and in canonical form; 422 naming each one that does not exist."""
    wanted = sorted({t.strip() for t in targets})
    if audience is Audience.ALL:
        if wanted:
            raise Invalid(
                "announcement_targets_invalid",
                "发送给全部经销商时不能指定目标",
                "An announcement to all dealers names no targets",
            )
        return []
    if not wanted or "" in wanted:
        raise Invalid(
            "announcement_targets_invalid",
            "请指定接收的等级、区域或经销商",
            "Name the tiers, regions or dealers it is for",
        )
    errors = await _unknown_targets(session, audience, wanted)
    if errors:
        raise Invalid(
            "announcement_target_unknown",
            "公告的接收对象不存在",
            "An announcement target does not exist",
            errors=errors,
        )
    if audience is Audience.DEALERS:
        return sorted(str(uuid.UUID(t)) for t in wanted)
    return wanted
