"""Push: apply a client's queued mutations exactly once each, one outcome per mutation."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from sync.errors import (
    SyncBadRequest,
    SyncConflict,
    SyncForbidden,
    is_transient_db_error,
    unavailable,
)
from sync.feed import pending_pokes, publish, restore_pokes
from sync.registry import (
    Amended,
    Applied,
    MutationContext,
    MutationRegistry,
    MutationRejected,
    Outcome,
    Rejected,
)
from sync.schemas import MutationIn, MutationResult, PushRequest, PushResult, SyncPrincipal
from sync.tables import dialect_insert, sync_business_key, sync_client, sync_mutation

__all__ = ["OUTCOME_ENTITY", "dealer_scope", "push"]

log = logging.getLogger(__name__)

OUTCOME_ENTITY = "mutation_result"
_encoder = msgspec.json.Encoder()


def dealer_scope(dealer_id: str) -> str:
    """The scope that carries a dealer's own data and mutation outcomes."""
    return f"dealer:{dealer_id}"


async def _lock_client(
    session: AsyncSession, principal: SyncPrincipal, client_id: str, now: datetime
) -> int:
    """Create or lock the client's row; return its last applied mid."""
    await session.execute(
        dialect_insert(session, sync_client)
        .values(
            client_id=client_id,
            subject_id=principal.subject_id,
            dealer_id=principal.dealer_id,
            last_mid=0,
            created_at=now,
            last_seen_at=now,
        )
        .on_conflict_do_nothing(index_elements=[sync_client.c.client_id])
    )
    # FOR UPDATE serialises concurrent pushes of one client (a no-op on SQLite, which has
    # one writer anyway).
    row = (
        await session.execute(
            select(sync_client.c.subject_id, sync_client.c.last_mid)
            .where(sync_client.c.client_id == client_id)
            .with_for_update()
        )
    ).one()
    if row.subject_id != principal.subject_id:
        raise SyncForbidden(
            "This client id belongs to another user",
            "该客户端标识属于其他用户",
            code="client_forbidden",
        )
    return int(row.last_mid)


def _check_order(mutations: list[MutationIn], last_mid: int) -> None:
    expected = last_mid + 1
    for m in mutations:
        if m.mid < 1:
            raise SyncBadRequest("mid must be a positive integer", "mid 必须为正整数")
        if m.mid == expected:
            expected += 1
        elif m.mid >= expected:
            raise SyncConflict(
                f"Mutation id {m.mid} skips ahead; the server expects {expected}",
                f"变更序号 {m.mid} 不连续，服务器期望 {expected}，请从该序号重新推送",
                code="mid_gap",
                extra={"expectedMid": expected},
            )


async def _stored_result(
    session: AsyncSession, client_id: str, mid: int, *, replayed: bool
) -> MutationResult:
    row = (
        await session.execute(
            select(sync_mutation.c.status, sync_mutation.c.reason, sync_mutation.c.detail).where(
                sync_mutation.c.client_id == client_id, sync_mutation.c.mid == mid
            )
        )
    ).one()
    return MutationResult(
        mid=mid,
        status=row.status,
        reason=row.reason,
        detail=None if row.detail is None else msgspec.json.decode(row.detail),
        replayed=replayed,
    )


async def _claim_business_key(
    session: AsyncSession, owner: str, business_key: str, client_id: str, mid: int
) -> tuple[str, int] | None:
    """Claim the key for (client_id, mid); if already claimed, return the claimant."""
    # On PostgreSQL a concurrent uncommitted claim makes this wait for that transaction.
    claimed = (
        await session.execute(
            dialect_insert(session, sync_business_key)
            .values(owner=owner, business_key=business_key, client_id=client_id, mid=mid)
            .on_conflict_do_nothing()
            .returning(sync_business_key.c.mid)
        )
    ).first()
    if claimed is not None:
        return None
    row = (
        await session.execute(
            select(sync_business_key.c.client_id, sync_business_key.c.mid).where(
                sync_business_key.c.owner == owner,
                sync_business_key.c.business_key == business_key,
            )
        )
    ).one()
    return str(row.client_id), int(row.mid)


async def _apply(
    session: AsyncSession,
    principal: SyncPrincipal,
    m: MutationIn,
    registry: MutationRegistry,
    ctx: MutationContext,
) -> Outcome:
    registered = registry.get(m.name)
    if registered is None:
        return Rejected(reason="unknown_mutation", detail={"name": m.name})
    try:
        args = msgspec.convert(m.args, registered.args_type, strict=False)
    except msgspec.ValidationError as exc:
        return Rejected(reason="invalid_args", detail={"error": str(exc)})
    pokes_before = pending_pokes(session)
    savepoint = await session.begin_nested()
    try:
        outcome = await registered.handler(session, principal, args, ctx)
    except MutationRejected as exc:
        outcome = Rejected(reason=exc.reason, detail=exc.detail)
    except Exception as exc:
        if is_transient_db_error(exc):
            raise unavailable(exc) from exc
        log.exception("mutation handler %s failed", m.name)
        outcome = Rejected(reason="handler_error", detail={"error": type(exc).__name__})
    if isinstance(outcome, Rejected):
        await savepoint.rollback()
        restore_pokes(session, pokes_before)
    else:
        await savepoint.commit()
    return outcome


async def push(
    session: AsyncSession,
    principal: SyncPrincipal,
    request: PushRequest,
    registry: MutationRegistry,
    *,
    now: datetime | None = None,
) -> PushResult:
    """Apply ``request``'s new mutations in mid order and return one result per mutation.

    Runs in the caller's transaction and never commits. Raises ``SyncConflict(mid_gap)``
    before applying anything if a mid skips ahead, ``SyncForbidden(client_forbidden)`` for
    another user's client id, and ``SyncUnavailable`` on transient database failures.
    """
    now = now or datetime.now(UTC)
    client_id = request.client_id
    if principal.client_id is not None and principal.client_id != client_id:
        raise SyncForbidden(
            "The token is bound to another client id",
            "令牌绑定的客户端标识与请求不符",
            code="client_forbidden",
        )
    if not client_id or len(client_id) > 64:
        raise SyncBadRequest("clientId must be 1-64 characters", "clientId 长度须为 1-64 个字符")
    try:
        last_mid = await _lock_client(session, principal, client_id, now)
        _check_order(request.mutations, last_mid)
        results: list[MutationResult] = []
        owner = f"dealer:{principal.dealer_id}" if principal.dealer_id else principal.subject_id
        for m in request.mutations:
            if m.mid <= last_mid:
                results.append(await _stored_result(session, client_id, m.mid, replayed=True))
                continue
            ctx = MutationContext(
                client_id=client_id, mid=m.mid, business_key=m.business_key, now=now
            )
            results.append(
                await _record(session, principal, m, registry=registry, owner=owner, ctx=ctx)
            )
            last_mid = m.mid
        await session.execute(
            update(sync_client)
            .where(sync_client.c.client_id == client_id)
            .values(last_mid=last_mid, last_seen_at=now)
        )
    except DBAPIError as exc:
        if is_transient_db_error(exc):
            raise unavailable(exc) from exc
        raise
    return PushResult(results=results)


async def _record(
    session: AsyncSession,
    principal: SyncPrincipal,
    m: MutationIn,
    *,
    registry: MutationRegistry,
    owner: str,
    ctx: MutationContext,
) -> MutationResult:
    claimant = None
    # An unknown mutation claims no key: it is refused, and the key stays free for the real one.
    if m.business_key is not None and registry.get(m.name) is not None:
        claimant = await _claim_business_key(session, owner, m.business_key, ctx.client_id, m.mid)
    if claimant is not None:
        result = await _replay(session, claimant, m)
    else:
        outcome = await _apply(session, principal, m, registry, ctx)
        result = await _publish_outcome(session, principal, m, ctx, outcome)
    await session.execute(
        insert(sync_mutation).values(
            client_id=ctx.client_id,
            mid=m.mid,
            name=m.name,
            business_key=m.business_key,
            status=result.status,
            reason=result.reason,
            detail=None if result.detail is None else _encoder.encode(result.detail),
            created_at=ctx.now,
        )
    )
    return result


async def _replay(
    session: AsyncSession, claimant: tuple[str, int], m: MutationIn
) -> MutationResult:
    """The stored outcome of the mutation that holds ``m``'s business key."""
    client_id, mid = claimant
    holder = (
        await session.execute(
            select(sync_mutation.c.name).where(
                sync_mutation.c.client_id == client_id, sync_mutation.c.mid == mid
            )
        )
    ).scalar_one()
    if holder != m.name:
        # Another kind of mutation holds the key: this one is not a replay of it.
        return MutationResult(
            mid=m.mid,
            status="rejected",
            reason="business_key_conflict",
            detail={"businessKey": m.business_key, "heldBy": holder},
        )
    stored = await _stored_result(session, client_id, mid, replayed=True)
    return msgspec.structs.replace(stored, mid=m.mid)


async def _publish_outcome(
    session: AsyncSession,
    principal: SyncPrincipal,
    m: MutationIn,
    ctx: MutationContext,
    outcome: Outcome,
) -> MutationResult:
    """The result of a mutation just applied, also published to the dealer's scope."""
    status = (
        "applied"
        if isinstance(outcome, Applied)
        else "amended"
        if isinstance(outcome, Amended)
        else "rejected"
    )
    reason = None if isinstance(outcome, Applied) else outcome.reason
    detail = msgspec.to_builtins(outcome.detail) if outcome.detail is not None else None
    if principal.dealer_id is not None:
        await publish(
            session,
            dealer_scope(principal.dealer_id),
            OUTCOME_ENTITY,
            f"{ctx.client_id}:{m.mid}",
            "upsert",
            {
                "clientId": ctx.client_id,
                "mid": m.mid,
                "name": m.name,
                "businessKey": m.business_key,
                "status": status,
                "reason": reason,
                "detail": detail,
            },
        )
    return MutationResult(mid=m.mid, status=status, reason=reason, detail=detail)
