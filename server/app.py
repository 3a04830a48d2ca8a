"""The composition root: the only module that wires every part together."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from litestar import Litestar, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Server
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.response import Redirect
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore

from console import console_router, console_stores, console_templates
from mini_program_api import mobile_handlers
from server.accounts.credit import decide_credit_by_chain
from server.accounts.routes import AccountController
from server.announcements.mutations import register_announcement_mutations
from server.announcements.routes import AnnouncementController
from server.apidocs import ProblemResponses, docs_assets_router, swagger_page
from server.approvals.routes import ApprovalController, ApprovalFlowController
from server.catalog.routes import (
    BundleController,
    CategoryController,
    ConfigurableController,
    ProductController,
    SkuController,
)
from server.claims import (
    ReceiptReader,
    read_receipt,
    register_claim_jobs,
    register_claim_mutations,
)
from server.claims.routes import ClaimReviewController
from server.claims.service import decide_claim_by_chain
from server.db.engine import Database
from server.db.session import provide_db_session
from server.dealers import dealer_standing
from server.dealers.routes import DealerController, TierController
from server.errors import handle_error
from server.health.routes import HealthController, probe_readiness
from server.identity.guards import AuthenticationMiddleware, provide_principal
from server.identity.routes import AuthController, InvitationController, UserController
from server.identity.throttle import LoginThrottle
from server.identity.wechat import WechatClient
from server.inventory.routes import InventoryController
from server.invoices import invoicing_totals
from server.invoices.mutations import register_invoice_mutations
from server.invoices.routes import InvoiceDeskController
from server.jobs.queue import JobRegistry, JobRunner
from server.media import require_json_body
from server.notifications import (
    WechatMessaging,
    register_inbox_mutations,
    register_notification_jobs,
)
from server.notifications.routes import SubscriptionTemplateController
from server.observability import RequestIdMiddleware, configure_logging, record_realtime
from server.orders import mutations as order_mutations
from server.orders.activity import dealer_order_activity
from server.orders.routes import OrderAdminController, OrderSettingsController
from server.orders.transitions import decide_by_chain
from server.pricelists.loading import PricingCache
from server.pricelists.routes import PriceListController
from server.promotions.routes import PromotionController
from server.quotes.routes import QuoteApprovalController, QuoteThresholdController
from server.quotes.service import decide_quote_by_chain
from server.regions.routes import RegionController
from server.replication.routes import SyncAdminController
from server.replication.wiring import (
    SyncHousekeeping,
    handle_sync_error,
    install_sync_hooks,
    provide_sync_principal,
    socket_principal,
    socket_refusal,
)
from server.returns import register_return_mutations
from server.returns.decisions import decide_return_by_chain
from server.returns.routes import ReturnAdminController, ReturnSettingsController
from server.settings import Settings
from server.storage.backends import ObjectStorage, create_storage
from server.storage.routes import LocalStorageController
from server.trail.routes import DecisionController
from server.warehouses.routes import WarehouseController
from sync import Hub, MutationRegistry, SyncError, SyncSettings, create_sync_router

API_VERSION = "0.1.0"


class Metrics(PrometheusController):
    path = "/metrics"
    include_in_schema = False

    @get()
    async def get(self, state: State) -> Response[bytes]:  # type: ignore[override]
        """Prometheus metrics, with a fresh readiness probe (dependencies up, degraded)."""
        await probe_readiness(state)
        record_realtime(state.hub)
        return await PrometheusController.get.fn(self)


@get("/docs", include_in_schema=False)
async def docs() -> Redirect:
    return Redirect("/schema/swagger")


def create_app(settings: Settings) -> Litestar:
    """Build the application for these settings (no I/O until startup)."""
    configure_logging(settings)
    database = Database(settings.database)
    storage = create_storage(settings.storage, settings.public_base_url, settings.auth.jwt_secret)
    messaging = WechatMessaging(settings.wechat, database, settings.redis_url)
    jobs = job_registry(storage, messaging=messaging, timezone=settings.timezone)
    sync_settings = SyncSettings(
        redis_url=settings.redis_url, heartbeat_interval=settings.sync_heartbeat_seconds
    )
    hub = Hub.from_settings(sync_settings)
    install_sync_hooks(database, hub)
    pricing_cache = PricingCache()
    mutations = mutation_registry(
        storage,
        pricing_cache,
        currency=settings.currency,
        price_grace_bp=settings.order_price_grace_bp,
    )

    prometheus = PrometheusConfig(app_name="channelhub", group_path=True, prefix="channelhub")
    return Litestar(
        route_handlers=_route_handlers(settings, hub, mutations, sync_settings),
        dependencies={
            "db_session": Provide(provide_db_session),
            "principal": Provide(provide_principal),
            "sync_principal": Provide(provide_sync_principal),
        },
        middleware=[
            RequestIdMiddleware(settings.trusted_proxies),
            prometheus.middleware,
            AuthenticationMiddleware(settings.auth),
        ],
        exception_handlers={
            Exception: handle_error,
            HTTPException: handle_error,
            SyncError: handle_sync_error,
        },
        before_request=require_json_body,
        lifespan=[_lifespan(settings, database, hub, jobs, messaging)],
        state=_initial_state(settings, database, storage, jobs, pricing_cache, hub),
        openapi_config=openapi_config(),
        template_config=console_templates(settings),
        stores=console_stores(settings),
        plugins=[ProblemResponses()],
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )


def _lifespan(
    settings: Settings,
    database: Database,
    hub: Hub,
    jobs: JobRegistry,
    messaging: WechatMessaging,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Start-up and shutdown: Redis and the login throttle, the job runner and housekeeping,
    the fan-out hub, the WeChat clients; everything closed in reverse order."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        redis = None
        store: Store = MemoryStore()
        if settings.redis_url:
            from litestar.stores.redis import RedisStore
            from redis.asyncio import Redis

            # Short timeouts: a Redis that stops answering must not hold requests up.
            redis = Redis.from_url(
                settings.redis_url, socket_connect_timeout=1.0, socket_timeout=1.0
            )
            store = RedisStore(redis, namespace="channelhub", handle_client_shutdown=False)
        app.state.redis = redis
        app.state.login_throttle = LoginThrottle(
            store, settings.auth.login_max_attempts, settings.auth.login_window_seconds
        )
        runner = JobRunner(database, jobs, concurrency=settings.job_concurrency)
        app.state.job_runner = runner
        housekeeping = SyncHousekeeping(database, timedelta(days=settings.sync_retention_days))
        await hub.start()
        if settings.jobs_in_process:
            app.state.job_wake = runner.wake
            runner.start()
            housekeeping.start()
        async with httpx.AsyncClient() as http:
            app.state.wechat = WechatClient(settings.wechat, http)
            # Long-lived start-up objects leave the GC's generations: collections during a
            # fan-out to thousands of sockets stay short (FACTS.md).
            gc.freeze()
            try:
                yield
            finally:
                await housekeeping.stop()
                await runner.stop()
                await messaging.aclose()
                await hub.stop()
                if redis is not None:
                    await redis.aclose()
                await app.state.pricing_cache.aclose()
                await database.dispose()

    return lifespan


def _route_handlers(
    settings: Settings, hub: Hub, mutations: MutationRegistry, sync_settings: SyncSettings
) -> list[Any]:
    """Every controller and router the app serves."""
    return [
        HealthController,
        Metrics,
        docs,
        docs_assets_router(),
        LocalStorageController,
        AuthController,
        UserController,
        InvitationController,
        RegionController,
        WarehouseController,
        TierController,
        DealerController,
        InventoryController,
        AccountController,
        SyncAdminController,
        create_sync_router(
            hub,
            mutations,
            sync_settings,
            socket_principal=socket_principal,
            socket_refusal=socket_refusal,
        ),
        CategoryController,
        ProductController,
        SkuController,
        PriceListController,
        QuoteApprovalController,
        QuoteThresholdController,
        OrderAdminController,
        OrderSettingsController,
        BundleController,
        ConfigurableController,
        PromotionController,
        AnnouncementController,
        ClaimReviewController,
        ReturnAdminController,
        ReturnSettingsController,
        DecisionController,
        InvoiceDeskController,
        ApprovalFlowController,
        ApprovalController,
        SubscriptionTemplateController,
        *mobile_handlers(dev_mode=settings.dev_mode),
        console_router(settings),
    ]


def mutation_registry(
    storage: ObjectStorage,
    pricing_cache: PricingCache | None = None,
    *,
    currency: str = "CNY",
    price_grace_bp: int = order_mutations.DEFAULT_PRICE_GRACE_BP,
) -> MutationRegistry:
    """The offline mutations clients may push, registered by each domain."""
    registry = MutationRegistry()
    order_mutations.register(
        registry,
        pricing_cache or PricingCache(),
        currency=currency,
        price_grace_bp=price_grace_bp,
    )
    register_claim_mutations(registry, storage)
    register_invoice_mutations(registry)
    register_inbox_mutations(registry)
    register_return_mutations(registry, storage)
    register_announcement_mutations(registry)
    return registry


def job_registry(
    storage: ObjectStorage,
    reader: ReceiptReader = read_receipt,
    *,
    messaging: WechatMessaging | None = None,
    timezone: str = "Asia/Shanghai",
) -> JobRegistry:
    """Every domain's background jobs (the API's in-process runner and `channelhub worker`);
    without ``messaging`` the notification jobs are not registered (they wait in the queue)."""
    registry = JobRegistry()
    register_claim_jobs(registry, storage, reader)
    if messaging is not None:
        register_notification_jobs(registry, messaging.sender, timezone)
    return registry


def _initial_state(
    settings: Settings,
    database: Database,
    storage: object,
    jobs: JobRegistry,
    pricing_cache: PricingCache,
    hub: Hub,
) -> Any:
    return State(
        {
            "hub": hub,
            "settings": settings,
            "database": database,
            "storage": storage,
            "redis": None,
            "jobs": jobs,
            "job_wake": None,
            "pricing_cache": pricing_cache,
            # Identity sits below dealers: its sign-in checks ask the dealers domain this way.
            "dealer_standing": dealer_standing,
            # Promotions sit below orders: the pilot report reads order activity this way.
            "order_activity": dealer_order_activity,
            # Invoices sit above accounts: statements read their invoicing this way.
            "statement_invoicing": invoicing_totals,
            # Approval chains sit below the documents they approve: a decision on a run goes
            # to the document's domain this way, which votes and moves the document.
            "approval_deciders": {
                "order": decide_by_chain,
                "claim": decide_claim_by_chain,
                "credit_limit": decide_credit_by_chain,
                "quote_discount": decide_quote_by_chain,
                "return": decide_return_by_chain,
            },
        }
    )


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="channelhub",
        version=API_VERSION,
        description="Dealer-channel backend: ordering, pricing, promotions, receipt OCR, offline-first sync.",
        path="/schema",
        render_plugins=[swagger_page()],
        servers=[Server(url="/")],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
            }
        ),
        security=[{"bearer": []}],
        use_handler_docstrings=True,
    )
