"""The mobile face: routes for dealers and reps (WeChat mini-program and app).

Calls ``server`` services; no SQL of its own. Mobile routes use GET/POST/PUT/DELETE only
(``wx.request`` has no PATCH).
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from mini_program_api.addresses import AddressController
from mini_program_api.announcements import AnnouncementController
from mini_program_api.approvals import ApprovalStatusController
from mini_program_api.auth import DevAuthController, MeController, WechatAuthController
from mini_program_api.catalog import CartController, CatalogController, CpqController
from mini_program_api.claims import ClaimablePromotionController, ClaimController
from mini_program_api.decisions import DealerDecisionController
from mini_program_api.funds import FundsController
from mini_program_api.invoices import InvoiceController, InvoiceTitleController
from mini_program_api.notifications import InboxController, SubscriptionController
from mini_program_api.orders import OrderController
from mini_program_api.quotes import QuoteController
from mini_program_api.returns import ReturnController
from mini_program_api.stock import StockController


def mobile_handlers(*, dev_mode: bool) -> list[ControllerRouterHandler]:
    handlers: list[ControllerRouterHandler] = [
        WechatAuthController,
        MeController,
        AddressController,
        FundsController,
        StockController,
        CatalogController,
        CartController,
        CpqController,
        QuoteController,
        OrderController,
        ClaimablePromotionController,
        ClaimController,
        InvoiceTitleController,
        InvoiceController,
        ApprovalStatusController,
        SubscriptionController,
        InboxController,
        ReturnController,
        AnnouncementController,
        DealerDecisionController,
    ]
    if dev_mode:
        handlers.append(DevAuthController)
    return handlers


__all__ = ["mobile_handlers"]
