"""A return as clients read it, with the money explained in zh-CN and English.

The rules the explanation states (``server.returns.receiving`` applies them):

- each returned unit is refunded at what the dealer actually paid for it: the line's amount
  after volume breaks, line promotions and its share of order discounts, pro rata per unit;
- the refund goes back to the sources that paid the order (prepaid, credit, rebate) in the
  proportion each was captured, never more than any source paid;
- rebate accrued on the returned goods (their share of the order's accruals) is clawed back;
- threshold promotions (满减): an order discount is already spread over the lines, so a
  returned unit takes its share of the discount back with it and the goods kept keep theirs
  (the threshold is not re-checked on what is kept: the dealer neither gains nor loses by
  returning); the promotion's budget keeps what it paid for the goods kept.
"""

from __future__ import annotations

from server.pricing.money import format_fen
from server.returns.models import ReturnRequest, ReturnStatus
from server.returns.schemas import (
    REASON_NAMES,
    DecisionOut,
    MoneyText,
    ReturnLineOut,
    ReturnOut,
    ReturnReason,
)

_RULE_ZH = (
    "按实付价退款：每件按该行实付金额（已含阶梯价、促销及分摊的订单优惠）计算；"
    "满减等订单优惠已分摊到各行，退回商品带走其分摊的优惠，保留商品的优惠不变，"
    "不因退货重新判断满减门槛。"
)
_RULE_EN = (
    "Refunded at the price actually paid: each unit at its line's amount after volume breaks,"
    " promotions and its share of order discounts. Order discounts (满减) are spread over the"
    " lines, so returned goods take their share back and the goods kept keep theirs; the"
    " threshold is not re-checked after a return."
)


def explain(ret: ReturnRequest) -> MoneyText:
    """How the return's refund was reckoned (before receipt: the rule only)."""
    if ret.status is not ReturnStatus.REFUNDED:
        return MoneyText(zh=_RULE_ZH, en=_RULE_EN)
    y = format_fen
    zh = (
        f"{_RULE_ZH}退回商品实付 ¥{y(ret.returned_value)}，退款 ¥{y(ret.refund)}："
        f"预存款 ¥{y(ret.refund_prepaid)}、信用 ¥{y(ret.refund_credit)}、"
        f"返利 ¥{y(ret.refund_rebate)}；扣回已计提返利 ¥{y(ret.clawback)}。"
    )
    en = (
        f"{_RULE_EN} Returned goods paid ¥{y(ret.returned_value)}; refunded ¥{y(ret.refund)}:"
        f" prepaid ¥{y(ret.refund_prepaid)}, credit ¥{y(ret.refund_credit)},"
        f" rebate ¥{y(ret.refund_rebate)}; rebate accrued on them clawed back"
        f" ¥{y(ret.clawback)}."
    )
    if ret.exchange_order_id is not None:
        zh += f"换货：已按原订单实付价另开补发订单 {ret.exchange_order_id}。"
        en += f" Exchange: replacement order {ret.exchange_order_id} at the original prices."
    if ret.clawback_short:
        zh += f"返利余额不足，¥{y(ret.clawback_short)} 未能扣回。"
        en += f" ¥{y(ret.clawback_short)} could not be clawed back (rebate spent)."
    return MoneyText(zh=zh, en=en)


def return_out(ret: ReturnRequest) -> ReturnOut:
    """The return as clients read it."""
    zh, en = REASON_NAMES.get(ReturnReason(ret.reason), (ret.reason, ret.reason))
    return ReturnOut(
        id=ret.id,
        dealer_id=ret.dealer_id,
        order_id=ret.order_id,
        status=ret.status,
        reason=ret.reason,
        reason_zh=zh,
        reason_en=en,
        note=ret.note,
        currency=ret.currency,
        step=ret.step,
        disposition=ret.disposition,
        returned_value=ret.returned_value,
        refund=ret.refund,
        refund_prepaid=ret.refund_prepaid,
        refund_credit=ret.refund_credit,
        refund_rebate=ret.refund_rebate,
        clawback=ret.clawback,
        clawback_short=ret.clawback_short,
        exchange=ret.exchange,
        exchange_order_id=ret.exchange_order_id,
        explanation=explain(ret),
        lines=[
            ReturnLineOut(
                line=ln.line,
                order_line=ln.order_line,
                sku=ln.sku_code,
                sku_name=ln.sku_name,
                qty=ln.qty,
                refund=ln.refund,
            )
            for ln in ret.lines
        ],
        photos=[p.storage_key for p in ret.photos],
        decisions=[
            DecisionOut(
                step=d.step, outcome=d.outcome, actor_id=d.actor_id, comment=d.comment, at=d.at
            )
            for d in ret.decisions
        ],
        version=ret.version,
        created_at=ret.created_at,
        updated_at=ret.updated_at,
    )
