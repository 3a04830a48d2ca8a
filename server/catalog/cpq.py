"""CPQ catalog: fixed bundles (priced by the pipeline's ``FixedBundle`` step) and
configurable products (options, min/max, requires/excludes), administered by HQ."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.catalog.models import Bundle, ConfigurableProductRow, ItemStatus
from server.catalog.service import bump_revision, existing_sku_codes
from server.db.repository import flush_or_conflict, get_or_404
from server.errors import Invalid, NotFound
from server.identity.principal import Principal
from server.pricing import (
    BundleComponent,
    CartLine,
    ConfigurableProduct,
    ConfigurationInvalid,
    FixedBundle,
)
from server.schemas import Request, Response
from server.text import one_line

Code = Annotated[str, one_line(32, pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
Name = Annotated[str, one_line(128, min_length=1)]
SkuCode = Annotated[str, one_line(32, min_length=1)]
PerSet = Annotated[int, msgspec.Meta(ge=1, le=100_000)]
# bundles.bundle_price is a 32-bit column.
UnitPrice = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]


class ComponentIn(Request, kw_only=True):
    sku: SkuCode
    qty: PerSet = 1


Components = Annotated[list[ComponentIn], msgspec.Meta(min_length=1, max_length=50)]


class BundleIn(Request, kw_only=True):
    code: Code
    name: Name
    bundle_price: UnitPrice
    components: Components
    currency: Annotated[str, one_line(3, pattern=r"^[A-Z]{3}$")] = "CNY"
    priority: Annotated[int, msgspec.Meta(ge=-1000, le=1000)] = 0
    status: ItemStatus = ItemStatus.ACTIVE


class BundleUpdate(Request, kw_only=True):
    name: Name | None = None
    bundle_price: UnitPrice | None = None
    components: Components | None = None
    priority: Annotated[int, msgspec.Meta(ge=-1000, le=1000)] | None = None
    status: ItemStatus | None = None


class ComponentOut(Response, kw_only=True):
    sku: str
    qty: int


class BundleOut(Response, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    currency: str
    bundle_price: int
    components: list[ComponentOut]
    priority: int
    status: ItemStatus
    version: int


class OptionIn(Request, kw_only=True):
    code: Code
    sku: SkuCode
    qty: PerSet = 1


class GroupIn(Request, kw_only=True):
    code: Code
    name: Name
    min: Annotated[int, msgspec.Meta(ge=0, le=50)] = 0
    max: Annotated[int, msgspec.Meta(ge=1, le=50)] = 1
    options: Annotated[list[OptionIn], msgspec.Meta(min_length=1, max_length=50)]


class ConstraintIn(Request, kw_only=True):
    kind: Literal["requires", "excludes"]
    option: Code
    other: Code


class ConfigurableIn(Request, kw_only=True):
    code: Code
    name: Name
    groups: Annotated[list[GroupIn], msgspec.Meta(min_length=1, max_length=20)]
    constraints: Annotated[list[ConstraintIn], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=list
    )
    base: Annotated[list[ComponentIn], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )


class ConfigurableOut(Response, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    groups: list[GroupIn]
    constraints: list[ConstraintIn]
    base: list[ComponentIn]
    status: ItemStatus
    version: int


class ConfigureIn(Request, kw_only=True):
    options: Annotated[list[Code], msgspec.Meta(max_length=100)]
    units: Annotated[int, msgspec.Meta(ge=-(10**6), le=10**6)] = 1


class ConfiguredLine(Response, kw_only=True):
    sku: str
    qty: int


def bundle_out(b: Bundle) -> BundleOut:
    return BundleOut(
        id=b.id,
        code=b.code,
        name=b.name,
        currency=b.currency,
        bundle_price=b.bundle_price,
        components=[ComponentOut(sku=c["sku"], qty=c["qty"]) for c in b.components],
        priority=b.priority,
        status=b.status,
        version=b.version,
    )


def configurable_out(row: ConfigurableProductRow) -> ConfigurableOut:
    definition = row.definition
    return ConfigurableOut(
        id=row.id,
        code=row.code,
        name=row.name,
        groups=msgspec.convert(definition.get("groups", []), list[GroupIn]),
        constraints=msgspec.convert(definition.get("constraints", []), list[ConstraintIn]),
        base=msgspec.convert(definition.get("base", []), list[ComponentIn]),
        status=row.status,
        version=row.version,
    )


async def _check_skus(session: AsyncSession, codes: Sequence[str], key: str) -> None:
    wanted = sorted(set(codes))
    found = await existing_sku_codes(session, wanted)
    missing = [c for c in wanted if c not in found]
    if missing:
        raise Invalid(
            "sku_unknown",
            "商品编码不存在",
            "Unknown SKU codes",
            errors=[
                {
                    "key": key,
                    "code": "sku_unknown",
                    "sku": c,
                    "message": f"商品 {c} 不存在",
                    "message_en": f"Unknown SKU {c}",
                }
                for c in missing
            ],
        )


def _bundle_step(b: Bundle) -> FixedBundle:
    return FixedBundle(
        rule_id=b.code,
        rule_version=b.version,
        currency=b.currency,
        bundle_price=b.bundle_price,
        name=b.name,
        priority=b.priority,
        components=tuple(BundleComponent(sku=c["sku"], qty=c["qty"]) for c in b.components),
    )


def _validated_step(b: Bundle) -> FixedBundle:
    try:
        return _bundle_step(b)
    except ValueError as exc:
        raise Invalid("bundle_invalid", "套装定义无效", str(exc)) from exc


async def create_bundle(session: AsyncSession, actor: Principal, body: BundleIn) -> Bundle:
    await _check_skus(session, [c.sku for c in body.components], "components")
    bundle = Bundle(
        id=uuid.uuid4(),
        code=body.code,
        name=body.name,
        currency=body.currency,
        bundle_price=body.bundle_price,
        priority=body.priority,
        status=body.status,
        version=1,
        components=[{"sku": c.sku, "qty": c.qty} for c in body.components],
    )
    _validated_step(bundle)
    session.add(bundle)
    await flush_or_conflict(session, "bundle_exists")
    await bump_revision(session)
    record(
        session,
        actor,
        "bundle.created",
        "bundle",
        bundle.id,
        {"code": body.code, "price": body.bundle_price},
    )
    return bundle


async def update_bundle(
    session: AsyncSession, actor: Principal, bundle_id: uuid.UUID, body: BundleUpdate
) -> Bundle:
    bundle = await get_or_404(session, Bundle, bundle_id, "bundle")
    if body.components is not None:
        await _check_skus(session, [c.sku for c in body.components], "components")
        bundle.components = [{"sku": c.sku, "qty": c.qty} for c in body.components]
    for name in ("name", "bundle_price", "priority", "status"):
        value = getattr(body, name)
        if value is not None:
            setattr(bundle, name, value)
    bundle.version += 1
    _validated_step(bundle)
    await bump_revision(session)
    record(session, actor, "bundle.updated", "bundle", bundle.id, {"version": bundle.version})
    return bundle


async def list_bundles(session: AsyncSession, *, active_only: bool) -> Sequence[Bundle]:
    stmt = select(Bundle).order_by(Bundle.code)
    if active_only:
        stmt = stmt.where(Bundle.status == ItemStatus.ACTIVE)
    return (await session.execute(stmt)).scalars().all()


def _product(code: str, name: str, definition: dict[str, Any]) -> ConfigurableProduct:
    return msgspec.convert({"code": code, "name": name, **definition}, ConfigurableProduct)


async def create_configurable(
    session: AsyncSession, actor: Principal, body: ConfigurableIn
) -> ConfigurableProductRow:
    definition: dict[str, Any] = {
        "groups": msgspec.to_builtins(body.groups),
        "constraints": msgspec.to_builtins(body.constraints),
        "base": msgspec.to_builtins(body.base),
    }
    product = _product(body.code, body.name, definition)
    problems = product.check_definition()
    if problems:
        raise Invalid(
            "configurable_invalid",
            "可选配产品定义无效",
            "Invalid configurable product",
            errors=[
                {
                    "code": p.code,
                    "constraint": p.constraint,
                    "message": p.message,
                    "message_en": p.message_en,
                }
                for p in problems
            ],
        )
    skus = [o.sku for g in body.groups for o in g.options] + [c.sku for c in body.base]
    await _check_skus(session, skus, "groups")
    row = ConfigurableProductRow(
        id=uuid.uuid4(), code=body.code, name=body.name, definition=definition, version=1
    )
    session.add(row)
    await flush_or_conflict(session, "configurable_exists")
    record(session, actor, "configurable.created", "configurable", row.id, {"code": body.code})
    return row


async def get_configurable(session: AsyncSession, code: str) -> ConfigurableProductRow:
    row = (
        await session.execute(
            select(ConfigurableProductRow).where(
                ConfigurableProductRow.code == code,
                ConfigurableProductRow.status == ItemStatus.ACTIVE,
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            "configurable_not_found", "可选配产品不存在", "configurable product not found"
        )
    return row


async def list_configurables(session: AsyncSession) -> Sequence[ConfigurableProductRow]:
    stmt = select(ConfigurableProductRow).order_by(ConfigurableProductRow.code)
    return (await session.execute(stmt)).scalars().all()


async def configure(session: AsyncSession, code: str, body: ConfigureIn) -> list[CartLine]:
    """Cart lines of a configuration; 422 ``configuration_invalid`` names each violation."""
    row = await get_configurable(session, code)
    product = _product(row.code, row.name, row.definition)
    try:
        return list(product.configure(body.options, body.units))
    except ConfigurationInvalid as exc:
        raise Invalid(
            "configuration_invalid",
            "配置不符合规则",
            "The configuration violates the rules",
            errors=[
                {
                    "code": v.code,
                    "constraint": v.constraint,
                    "message": v.message,
                    "message_en": v.message_en,
                }
                for v in exc.violations
            ],
        ) from exc
