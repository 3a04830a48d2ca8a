"""The catalogue: every reason code a person may read, with its zh-CN and English template.

Keys are the stable codes; reasons of one domain are prefixed with it (``order.price_rose``,
``claim.sku_missing``) because the same short code can mean different things in two
domains. ``{placeholders}`` are filled by :func:`server.messages.render`.
"""

from __future__ import annotations

ENTRIES: dict[str, tuple[str, str]] = {
    # Start-up (server/warmup.py)
    "starting": ("服务正在启动，请稍后重试", "The server is starting, retry shortly"),
    # Records a lookup did not find (server/db/repository.get_or_404)
    "address_not_found": ("收货地址不存在", "Address not found"),
    "announcement_not_found": ("公告不存在", "Announcement not found"),
    "attachment_not_found": ("附件不存在", "Attachment not found"),
    "bundle_not_found": ("套装不存在", "Bundle not found"),
    "category_not_found": ("商品分类不存在", "Category not found"),
    "dealer_not_found": ("经销商不存在", "Dealer not found"),
    "order_not_found": ("订单不存在", "Order not found"),
    "invoice_not_found": ("开票申请不存在", "Invoice request not found"),
    "approval_task_not_found": ("审批记录不存在", "Approval not found"),
    "invoice_title_not_found": ("开票信息不存在", "Invoice title not found"),
    "price_list_not_found": ("价目表不存在", "Price list not found"),
    "product_not_found": ("产品不存在", "Product not found"),
    "promotion_not_found": ("促销不存在", "Promotion not found"),
    "quote_not_found": ("报价单不存在", "Quote not found"),
    "region_not_found": ("区域不存在", "Region not found"),
    "sku_not_found": ("商品不存在", "SKU not found"),
    "tier_not_found": ("经销商等级不存在", "Dealer tier not found"),
    "user_not_found": ("用户不存在", "User not found"),
    "warehouse_not_found": ("仓库不存在", "Warehouse not found"),
    "record_not_found": ("记录不存在", "Record not found"),
    # What the inbox says of each event (server/notifications); {amount} etc. are pre-formatted
    "notify.order_approved.title": ("订单已审核通过", "Order approved"),
    "notify.order_approved.body": (
        "订单 {orderNo}（{amount}）已审核通过，即将备货发货。",
        "Order {orderNo} ({amount}) was approved and will be prepared for shipping.",
    ),
    "notify.order_shipped.title": ("订单已发货", "Order shipped"),
    "notify.order_shipped.body": (
        "订单 {orderNo}（{amount}）已发货，物流：{shipment}。",
        "Order {orderNo} ({amount}) was shipped: {shipment}.",
    ),
    "notify.order_rejected.title": ("订单未通过审核", "Order rejected"),
    "notify.order_rejected.body": (
        "订单 {orderNo}（{amount}）未通过审核：{reason}",
        "Order {orderNo} ({amount}) was rejected: {reason}",
    ),
    "notify.claim_decided.title": ("核销已有结果", "Claim decided"),
    "notify.claim_decided.body": (
        "核销单 {claimNo}{status}，金额 {amount}。{reason}",
        "Claim {claimNo} {status}, amount {amount}. {reason}",
    ),
    "notify.return_decided.title": ("退货已有结果", "Return decided"),
    "notify.return_decided.body": (
        "退货单 {returnNo}（{amount}）{status}。{reason}",
        "Return {returnNo} ({amount}) {status}. {reason}",
    ),
    "notify.price_list_changed.title": ("您的价目表已更新", "Your price list changed"),
    "notify.price_list_changed.body": (
        "{tier} 等级适用的价目表「{priceList}」已发布新版本，请刷新价格。",
        'The price list "{priceList}" of tier {tier} has a new version; refresh your prices.',
    ),
    "notify.credit_low.title": ("信用额度即将用尽", "Credit running low"),
    "notify.credit_low.body": (
        "可用信用额度仅剩 {available}（额度 {limit}），请及时回款或预存。",
        "Only {available} of your {limit} credit is left; pay or top up soon.",
    ),
    "notify.announcement.title": ("新公告：{title}", "New announcement: {title}"),
    "notify.announcement.body": ("公告：{summary}", "Notice: {summary}"),
    "notify.status.approved": ("已通过", "approved"),
    "notify.status.rejected": ("已驳回", "rejected"),
    "notify.status.shipped": ("已发货", "shipped"),
    "notify.status.published": ("已发布", "published"),
    "notify.status.low": ("额度不足", "running low"),
    "notify.status.new": ("新公告", "new"),
    # Why an order waits for HQ (Order.review_reasons)
    "order.watch_tier": (
        "观察级经销商的订单需预付款并经总部审核",
        "Orders of watch-tier dealers are prepaid and reviewed by HQ",
    ),
    "order.amount_above_threshold": (
        "订单金额超过审批阈值，需总部审核",
        "The order amount is above the approval threshold; HQ reviews it",
    ),
    "order.approval_chain": (
        "订单需经总部审批流逐级审批",
        "The order goes through HQ's approval chain, step by step",
    ),
    "order.diversion": (
        "收货地址不在经销商的销售区域内（疑似窜货），需总部审核",
        "The delivery address is outside the dealer's regions (possible diversion)",
    ),
    # What changed since the dealer saw the cart (Order.amendments): needs confirmation
    "order.stock_partial": (
        "部分商品库存不足，只预占了现有库存，请确认",
        "Part of the order is not in stock; please confirm",
    ),
    "order.price_rose": (
        "价格已上涨，超过下单时看到的金额，请确认",
        "Prices rose above the amount you saw; please confirm",
    ),
    "order.promotion_ended": (
        "有促销已结束，已按现价重新计算，请确认",
        "A promotion has ended and was removed; please confirm",
    ),
    # Why a quote needs approval (Quote.approval_reasons)
    "quote.line_discount_above_limit": (
        "第 {line} 行 {sku} 的额外折扣 {discount} 超过上限 {limit}",
        "Line {line} ({sku}): extra discount {discount} is above the limit {limit}",
    ),
    "quote.discount_above_limit": (
        "整单额外折扣 {discount} 超过上限 {limit}",
        "The quote's extra discount {discount} is above the limit {limit}",
    ),
    "quote.state_refuses": (
        "报价单当前为{state_zh}，不能{action_zh}",
        "A quote that is {state_en} cannot be {action_en}",
    ),
    # What happened to a quote (QuoteDecision.action), as the PDF and the trail show it
    "quote.action.created": ("创建报价", "created"),
    "quote.action.submitted": ("提交审批", "submitted for approval"),
    "quote.action.approved": ("批准", "approved"),
    "quote.action.step_approved": ("审批流一步通过", "one approval step passed"),
    "quote.action.rejected": ("驳回", "rejected"),
    "quote.action.accepted": ("确认下单", "accepted"),
    "quote.action.expired": ("过期", "expired"),
    # A quote's state, in words
    "quote.status.draft": ("草稿", "a draft"),
    "quote.status.pending_approval": ("待审批", "pending approval"),
    "quote.status.approved": ("已批准", "approved"),
    "quote.status.rejected": ("已驳回", "rejected"),
    "quote.status.expired": ("已过期", "expired"),
    "quote.status.converted": ("已确认", "converted to an order"),
    # Claim decisions (server/claims/scanning.py and ocr.verify)
    "claim.duplicate_image": (
        "同一张照片已在核销单 {earlierClaimId} 中提交过",
        "The same photo was already submitted with claim {earlierClaimId}",
    ),
    "claim.duplicate_content": (
        "同一门店、日期、单号和金额的小票已核销过",
        "A receipt with the same shop, date, number and total was already claimed",
    ),
    "claim.duplicate_image_edited": (
        "这张照片与核销单 {earlierClaimId} 中的照片几乎相同",
        "This photo is a near copy of one submitted with claim {earlierClaimId}",
    ),
    "claim.sku_missing": ("小票上没有参加促销的商品", "No promoted product on the receipt"),
    "claim.sku_quantity_short": (
        "小票上促销商品共 {qty} 件，要求至少 {required} 件",
        "{qty} promoted units on the receipt, {required} required",
    ),
    "claim.sku_uncertain_match": (
        "商品 {sku} 按相似名称匹配",
        "Product {sku} matched by a similar name",
    ),
    "claim.receipt_unreadable": (
        "小票图片无法识别，需人工审核",
        "The receipt image could not be read; a person checks it",
    ),
    "claim.display_needs_review": ("陈列照片由总部人工审核", "Display photos are checked by HQ"),
    "claim.above_auto_limit": (
        "核销金额 {amount} 超过自动通过上限 {limit}",
        "The amount {amount} is above the automatic limit {limit}",
    ),
    "claim.low_confidence": (
        "识别置信度 {confidence} 低于要求的 {minimum}",
        "Reading confidence {confidence} is below {minimum}",
    ),
    "claim.budget_exhausted": (
        "促销预算不足以支付本次核销",
        "The promotion's budget cannot cover this claim",
    ),
    "claim.no_text": ("图片上没有识别到文字", "No text was found on the image"),
    "claim.date_missing": ("无法识别小票日期", "The receipt date could not be read"),
    "claim.date_before_window": (
        "小票日期 {date} 早于活动开始日 {start}",
        "Receipt dated {date} is before {start}",
    ),
    "claim.date_after_window": (
        "小票日期 {date} 晚于活动结束日 {end}",
        "Receipt dated {date} is after {end}",
    ),
    "claim.total_missing": ("无法识别小票总金额", "The receipt total could not be read"),
    "claim.total_below_minimum": (
        "小票金额 {total} 低于最低要求 {minimum}",
        "Total {total} is below {minimum}",
    ),
    "claim.currency_mismatch": (
        "小票币种 {currency} 与活动币种 {expected} 不符",
        "Receipt currency {currency}, the claim expects {expected}",
    ),
    "claim.merchant_missing": ("无法识别门店名称", "The shop name could not be read"),
    "claim.merchant_not_allowed": (
        "门店“{merchant}”不在活动门店名单中",
        "Shop “{merchant}” is not on the claim's list",
    ),
    "claim.region_unknown": (
        "小票上没有可核对区域的地址",
        "No address to check the region against",
    ),
    "claim.region_mismatch": (
        "门店地址不在活动区域内（疑似窜货）",
        "The shop address is outside the claim's regions (possible diversion)",
    ),
    # Price-list import rows (server/pricelists/imports.py)
    "import.formula_not_allowed": (
        "第 {row} 行 {column} 是公式，请粘贴为数值",
        "Row {row}: {column} is a formula; paste it as a value",
    ),
    "import.sku_missing": ("第 {row} 行缺少商品编码", "Row {row}: the SKU code is missing"),
    "import.sku_unknown": ("第 {row} 行商品编码 {sku} 不存在", "Row {row}: unknown SKU {sku}"),
    "import.sku_duplicate": (
        "第 {row} 行商品 {sku} 与第 {first} 行重复",
        "Row {row}: SKU {sku} repeats row {first}",
    ),
    "import.price_invalid": (
        "第 {row} 行单价无效（须为不小于 0、最多两位小数的金额）",
        "Row {row}: the unit price must be an amount ≥ 0 with at most two decimals",
    ),
    "import.break_kind_invalid": (
        "第 {row} 行阶梯类型须为 range 或 slab",
        "Row {row}: the break kind must be range or slab",
    ),
    "import.breaks_malformed": (
        "第 {row} 行阶梯价格式应为 10-49:3.20; 50+:3.00",
        "Row {row}: breaks are written like 10-49:3.20; 50+:3.00",
    ),
    "import.break_issue": ("第 {row} 行：{issue}", "Row {row}: {issue_en}"),
    # Reasons of ledger entries the server writes (stored as "zh / en": dealer and HQ read them)
    "ledger.claim_payout": (
        "促销 {code}（{name}）核销",
        "Claim payout, promotion {code}",
    ),
    "ledger.rebate_accrual": ("促销 {code} 返利", "Rebate of promotion {code}"),
    # Price-list items sent as JSON (server/pricelists/service.py; {item} counts from 1)
    "pricelist.sku_unknown": ("第 {item} 项商品 {sku} 不存在", "Item {item}: unknown SKU {sku}"),
    "pricelist.sku_duplicate": (
        "第 {item} 项商品 {sku} 与第 {first} 项重复",
        "Item {item}: SKU {sku} repeats item {first}",
    ),
    "pricelist.price_conflict": (
        "商品 {sku} 同时由同级同优先级的 {list} 与 {rival} 定价",
        "SKU {sku} is priced by both {list} and {rival}, of the same scope and priority",
    ),
    # Volume break tables (server/pricing/breaks.py: BreakIssue by code; {row} counts from 1)
    "breaks.base_price_negative": ("基础单价不能为负", "The base unit price cannot be negative"),
    "breaks.price_negative": (
        "第 {row} 档单价不能为负",
        "Break {row}: the unit price cannot be negative",
    ),
    "breaks.break_min_qty_too_small": (
        "第 {row} 档起始数量须 ≥ 2（数量 1 起按基础单价）",
        "Break {row}: a break starts at 2 units or more (from 1 the base price applies)",
    ),
    "breaks.break_empty_range": (
        "第 {row} 档截止数量 {max_qty} 小于起始数量 {min_qty}",
        "Break {row} ends at {max_qty}, before it starts at {min_qty}",
    ),
    "breaks.break_price_rises": (
        "第 {row} 档单价 ¥{price} 高于上一档 ¥{ceiling}，阶梯价不能随数量上升",
        "Break {row}: the unit price ¥{price} is above the ¥{ceiling} before it; "
        "prices must not rise with quantity",
    ),
    "breaks.break_not_open_ended": (
        "最后一档须不设截止数量（当前截止于 {max_qty}）",
        "The last break must be open-ended (it ends at {max_qty})",
    ),
    "breaks.break_unsorted": (
        "第 {row} 档起始数量 {min_qty} 小于上一档 {previous}，须按数量升序排列",
        "Break {row} starts at {min_qty}, below the {previous} of the break before it; "
        "sort breaks by quantity",
    ),
    "breaks.break_same_start": (
        "第 {row} 档与上一档起始数量相同（{min_qty}）",
        "Break {row} starts at {min_qty}, like the break before it",
    ),
    "breaks.break_overlap": (
        "第 {row} 档起始数量 {min_qty} 与上一档（至 {previous_max}）重叠",
        "Break {row} starts at {min_qty}, inside the break before it (up to {previous_max})",
    ),
    "breaks.break_gap": (
        "上一档止于 {previous_max}，第 {row} 档起于 {min_qty}，中间数量无价格",
        "The break before ends at {previous_max} and break {row} starts at {min_qty}: "
        "the quantities between have no price",
    ),
    # Price explanations (server/pricing: ExplanationRow.message and message_en). Amounts are
    # yuan without the sign ({unit}: 12.50); rates are percentages ({rate}: 15%).
    "pricing.scope.default": ("默认", "Default"),
    "pricing.scope.tier": ("等级", "Tier"),
    "pricing.scope.region": ("区域", "Regional"),
    "pricing.scope.dealer": ("专属", "Dealer's own"),
    "pricing.list_price": (
        "{scope_zh}价目表 {list} v{version}：单价 ¥{unit} × {qty} = ¥{amount}",
        "{scope_en} price list {list} v{version}: ¥{unit} × {qty} = ¥{amount}",
    ),
    "pricing.break_not_reached": (
        "未达到阶梯价（首档 {min_qty} 件起）",
        "No volume break reached (the first starts at {min_qty} units)",
    ),
    "pricing.break_range": (
        "阶梯价：满 {min_qty} 件全部按 ¥{unit}",
        "Volume break: from {min_qty} units, every unit at ¥{unit}",
    ),
    "pricing.break_slab": (
        "分段阶梯价：共 ¥{amount}，均价约 ¥{unit}（最高到第 {tier} 档）",
        "Volume breaks by slab: ¥{amount} in all, about ¥{unit} a unit (up to break {tier})",
    ),
    "pricing.percent_off": (
        "{sku} 立减 {rate}：¥{amount} 减 ¥{discount}",
        "{sku} {rate} off: ¥{discount} off ¥{amount}",
    ),
    "pricing.amount_off": (
        "{sku} 每件立减 ¥{each} × {qty}：减 ¥{discount}",
        "{sku} ¥{each} off each unit × {qty}: ¥{discount} off",
    ),
    "pricing.special_price": (
        "{sku} 特价 ¥{unit} × {qty}：¥{amount} → ¥{target}",
        "{sku} special price ¥{unit} × {qty}: ¥{amount} → ¥{target}",
    ),
    "pricing.threshold": (
        "满 ¥{threshold} 减 ¥{discount}：¥{base} 共减 ¥{total}",
        "¥{discount} off orders of ¥{threshold}: ¥{total} off ¥{base}",
    ),
    "pricing.threshold_repeat": (
        "每满 ¥{threshold} 减 ¥{discount}：¥{base} 共减 ¥{total}",
        "¥{discount} off every ¥{threshold}: ¥{total} off ¥{base}",
    ),
    "pricing.tiered_threshold": (
        "阶梯满减 满 ¥{threshold} 减 ¥{discount}：¥{base}",
        "Tiered discount, ¥{discount} off from ¥{threshold}: ¥{base}",
    ),
    "pricing.buy_get": (
        "买 {buy} 赠 {gift}（{sku}）：购买 {bought} 件，赠 {gifts} 件",
        "Buy {buy} get {gift} free ({sku}): {bought} bought, {gifts} free",
    ),
    "pricing.buy_get_capped": (
        "买 {buy} 赠 {gift}（{sku}）：购买 {bought} 件，赠 {gifts} 件（已达赠送上限）",
        "Buy {buy} get {gift} free ({sku}): {bought} bought, {gifts} free (gift limit reached)",
    ),
    "pricing.bundle": (
        "套装 {bundle}：{sets} 套 × ¥{price}（单买 ¥{parts}），共减 ¥{discount}",
        "Bundle {bundle_code}: {sets} set(s) × ¥{price} (¥{parts} bought apart), ¥{discount} off",
    ),
    "pricing.line_capped": (
        "{message}（优惠以行金额为限）",
        "{message_en} (limited to the line amount)",
    ),
    "pricing.order_capped": (
        "{message}（超出可优惠金额，实际优惠 ¥{granted}）",
        "{message_en} (more than the lines can take: ¥{granted} granted)",
    ),
    "pricing.skipped_exclusive_group": (
        "未生效（同组互斥）：{message}",
        "Not applied (a promotion of the same exclusive group applied): {message_en}",
    ),
    "pricing.skipped_not_stackable": (
        "未生效（不可叠加）：{message}",
        "Not applied (does not stack with other promotions): {message_en}",
    ),
    "pricing.order_share": (
        "订单优惠分摊 ¥{part}（按行金额比例）",
        "Share of the order discount: ¥{part} (in proportion to line amounts)",
    ),
    "pricing.gift": ("赠品 {sku} × {qty}", "Free gift {sku} × {qty}"),
    "pricing.rebate": (
        "返利抵扣 ¥{rebate}（上限为可抵扣商品金额 ¥{basis} 的 {cap_rate}，即 ¥{cap}；"
        "返利余额 ¥{balance}）",
        "Rebate pays ¥{rebate} (at most {cap_rate} of the eligible goods amount ¥{basis}, "
        "¥{cap}; rebate balance ¥{balance})",
    ),
    "pricing.rebate_excluding": ("不可用返利抵扣：{what}", "rebate cannot pay for {what}"),
    "pricing.rebate_excluded_categories": (
        "类别 {categories} 的商品",
        "goods of the categories {categories}",
    ),
    "pricing.rebate_excluded_promoted": ("参加促销的商品行", "lines a promotion touched"),
    "pricing.rebate_not_chosen": (
        "本单不使用返利（返利余额 ¥{balance}）",
        "This order does not use rebate (rebate balance ¥{balance})",
    ),
    "pricing.rebate_not_allowed": (
        "您所在等级的订单不能用返利抵扣（返利余额 ¥{balance}）",
        "Orders of your tier cannot be paid with rebate (rebate balance ¥{balance})",
    ),
    "balances.rebate_rule": (
        "返利可抵扣每笔订单可抵扣商品金额的 {cap_rate}",
        "Rebate can pay up to {cap_rate} of each order's eligible goods amount",
    ),
    "balances.rebate_not_allowed": (
        "您所在等级的订单不能用返利抵扣",
        "Orders of your tier cannot be paid with rebate",
    ),
    "pricing.prepaid": (
        "预存款支付 ¥{prepaid}（余额 ¥{balance}）",
        "Prepaid balance pays ¥{prepaid} (balance ¥{balance})",
    ),
    # Configurable products (server/pricing/bundles.py: Violation by code)
    "cpq.option_unknown": ("选项 {option} 不存在", "There is no option {option}"),
    "cpq.option_repeated": ("同一选项只能选择一次", "Each option can be chosen once"),
    "cpq.group_min": (
        "「{group}」至少选择 {limit} 项（已选 {count} 项）",
        "Group {group_code}: choose at least {limit} (chosen: {count})",
    ),
    "cpq.group_max": (
        "「{group}」最多选择 {limit} 项（已选 {count} 项）",
        "Group {group_code}: choose at most {limit} (chosen: {count})",
    ),
    "cpq.requires": (
        "选择 {option} 时必须同时选择 {other}",
        "Option {option} needs option {other} too",
    ),
    "cpq.excludes": (
        "{option} 与 {other} 不能同时选择",
        "Options {option} and {other} cannot be chosen together",
    ),
    "cpq.units_not_positive": ("数量必须大于 0", "The number of units must be above 0"),
    # Configurable product definitions (ConfigurableProduct.check_definition, by code)
    "cpq.option_code_repeated": ("选项编码不能重复", "Option codes must be unique"),
    "cpq.group_range_invalid": (
        "选项组 {group_code} 的选择数量无效：须 0 ≤ 最少 ≤ 最多，且最少不超过选项数",
        "Group {group_code}: need 0 ≤ min ≤ max and min ≤ the number of options",
    ),
    "cpq.constraint_kind_unknown": (
        "未知的约束类型 {kind}",
        "Unknown constraint kind {kind} (requires or excludes)",
    ),
    "cpq.constraint_option_unknown": (
        "约束引用了不存在的选项 {option}",
        "A constraint names an unknown option {option}",
    ),
    # The approval trail (server/trail: ``channelhub audit verify``, GET /hq/decisions)
    "trail.verified": (
        "审批链校验通过：共 {count} 条，链头为第 {seq} 条（{hash}）",
        "The approval trail verifies: {count} entries, head is entry {seq} ({hash})",
    ),
    "trail.entry_missing": (
        "第 {seq} 条记录未紧接第 {previous} 条：中间的记录被删除或顺序被改动",
        "Entry {seq} does not follow entry {previous}: entries were deleted or reordered",
    ),
    "trail.entry_altered": (
        "第 {seq} 条记录的字段与其规范 JSON 不符：记录被改动",
        "Entry {seq}: its fields differ from its canonical JSON: the entry was edited",
    ),
    "trail.link_broken": (
        "第 {seq} 条记录的前一哈希与第 {previous} 条不符：链被改动",
        "Entry {seq} does not link to entry {previous}: the chain was altered",
    ),
    "trail.hash_mismatch": (
        "第 {seq} 条记录的哈希与其内容不符：记录被改动",
        "Entry {seq}: its hash does not match its content: the entry was edited",
    ),
    "trail.head_mismatch": (
        "链头指向第 {seq} 条，但审批链止于第 {last} 条：末尾的记录被删除或链头被改动",
        "The chain head names entry {seq} but the trail ends at entry {last}: "
        "entries at the end were deleted or the head was altered",
    ),
    "trail.expected_mismatch": (
        "第 {seq} 条记录的哈希与给定的链头不符：此后链被改写",
        "Entry {seq} differs from the given head: the trail was rewritten since",
    ),
    "trail.expected_missing": (
        "给定的链头为第 {seq} 条，但审批链止于第 {last} 条",
        "The given head is entry {seq} but the trail ends at entry {last}",
    ),
    "trail.range_invalid": (
        "结束时间须晚于开始时间",
        "The end of the time range must come after its start",
    ),
    "trail.head_invalid": (
        "链头须写作 序号:哈希（64 位十六进制）",
        "Give the head as SEQ:HASH (64 hex digits)",
    ),
    # Request validation, translated from msgspec / Litestar (server.messages.validation_text)
    "validation.field_unknown": ("不允许的字段 {field}", "Unknown field {field}"),
    "validation.field_required": ("缺少必填字段 {field}", "Missing required field {field}"),
    "validation.type_mismatch": (
        "类型错误：应为{expected_zh}，实际为{got_zh}",
        "Wrong type: expected {expected}, got {got}",
    ),
    "validation.type_expected": ("类型错误：应为{expected_zh}", "Wrong type: expected {expected}"),
    "validation.too_short": ("长度不能小于 {limit}", "Length must be at least {limit}"),
    "validation.too_long": ("长度不能超过 {limit}", "Length must be at most {limit}"),
    "validation.at_least": ("不能小于 {limit}", "Must be at least {limit}"),
    "validation.above": ("必须大于 {limit}", "Must be greater than {limit}"),
    "validation.at_most": ("不能大于 {limit}", "Must be at most {limit}"),
    "validation.below": ("必须小于 {limit}", "Must be less than {limit}"),
    "validation.multiple_of": ("必须是 {limit} 的整数倍", "Must be a multiple of {limit}"),
    "validation.pattern": ("格式不正确", "Has the wrong format"),
    "validation.enum": ("{value} 不是允许的取值", "{value} is not an allowed value"),
    "validation.uuid": ("不是合法的 UUID", "Not a valid UUID"),
    "validation.date": ("不是合法的日期（YYYY-MM-DD）", "Not a valid date (YYYY-MM-DD)"),
    "validation.datetime": (
        "不是合法的时间（RFC 3339，如 2026-01-31T08:00:00Z）",
        "Not a valid date-time (RFC 3339, e.g. 2026-01-31T08:00:00Z)",
    ),
    "validation.time": ("不是合法的时刻（HH:MM:SS）", "Not a valid time (HH:MM:SS)"),
    "validation.out_of_range": ("数值超出范围", "Number out of range"),
    "validation.base64": ("不是合法的 Base64 编码", "Not valid base64"),
    "validation.body_missing": ("缺少请求体", "The request body is missing"),
    "validation.malformed": ("请求体不是合法的 JSON", "The body is not valid JSON"),
    "validation.invalid": ("取值不合法", "Invalid value"),
}
