"""Field parsing from realistic receipt text (Chinese tickets, Malaysian tax invoices, US slips)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ocr.dates import dates_in, times_in
from ocr.fields import find_total, parse_fields
from ocr.rowtext import find_money, parse_rows
from tests.ocr.factories import make_rows

CN_SUPERMARKET = """
欢迎光临
华润万家超市(南山店)
地址:深圳市南山区南海大道1088号
电话:0755-26612345
单号:0012026112008341|收银员:张三
2026-11-2014:32:05
品名|数量|单价|金额
可口可乐500ml|2|3.50|7.00
农夫山泉550ml
6921168509256|3|2.00|6.00
金龙鱼食用油5L|1|79.90|79.90
小计:|92.90
合计:|92.90
应收:92.90
现金:100.00|找零:7.10
谢谢惠顾,欢迎再次光临
"""

SROIE_TAX_INVOICE = """
OJC MARKETING SDN BHD
(538358-H)
NO 2 & 4, JALAN BAYU 4,
BANDAR SERI ALAM,
81750 MASAI, JOHOR
TEL:07-388 2218 FAX:07-388 8218
GST REG NO : 000905547776
TAX INVOICE
Invoice No : PEGIV-1030765
Date : 15/01/2019 11:05:16 AM
Cashier : NG CHUAN MIN
Description|Qty|Price|Amount
KINGS SAFETY SHOES KWD 805|1|170.00|170.00 SR
Total Qty: 1
Total Sales (Excluding GST) : 160.38
Discount : 0.00
Total GST : 9.62
Rounding : 0.00
Total Sales (Inclusive of GST) : 170.00
CASH : 170.00
CHANGE : 0.00
GST Summary|Amount(RM)|Tax(RM)
SR @ 6%|160.38|9.62
"""

SROIE_ROUNDING = """
99 SPEED MART S/B (519537-X)
LOT P.T. 2811, JALAN ANGSA,
TAMAN BERKELEY 41150 KLANG, SELANGOR
1605-TMN SRI SENTOSA
GST ID. NO : 000181747712
INVOICE NO : 18286/102/T0297
03:46PM|571|09-05-17
GARDENIA BREAD|RM 3.60
100PLUS 500ML 2 @ 2.10|RM 4.20
Total Sales Inclusive GST @6%|RM 7.80
Total Sales|RM 7.37
GST|RM 0.43
Rounding Adj|-0.01
TOTAL|RM 7.79
CASH|RM 10.00
CHANGE|RM 2.21
"""

US_SLIP = """
TRADER JOE'S
2001 Greenleaf St
Evanston IL 60202
Store #0698 - (847) 733-0690
BANANAS|0.95
ORGANIC MILK 1 GAL|5.99
2 @ 2.49
PEANUT BUTTER|4.98
SUBTOTAL|$11.92
TAX|$0.00
GRAND TOTAL|$11.92
VISA|$11.92
CHANGE|$0.00
06-04-2018 12:34PM
"""

RESTAURANT = """
外婆家(西湖店)
桌号:A12|人数:4
结账单
流水号:20261120-0457
时间:2026年11月20日 19:42
宫保鸡丁|1|38.00
米饭|4|2.00|8.00
合计 数量:5 金额:46.00
会员优惠|-4.00
实付金额|¥42.00
支付宝|42.00
"""


def test_chinese_supermarket_ticket() -> None:
    fields = parse_fields(make_rows(CN_SUPERMARKET))
    assert fields.merchant == "华润万家超市(南山店)"
    assert fields.date == dt.date(2026, 11, 20)
    assert fields.time == dt.time(14, 32, 5)
    assert fields.receipt_no == "0012026112008341"
    assert fields.total == 9290
    assert fields.currency == "CNY"
    assert fields.payment_method == "cash"
    assert fields.address is not None and "南海大道1088号" in fields.address
    assert [(i.name, i.qty, i.unit_price, i.amount, i.barcode) for i in fields.items] == [
        ("可口可乐500ml", Decimal(2), 350, 700, None),
        ("农夫山泉550ml", Decimal(3), 200, 600, "6921168509256"),
        ("金龙鱼食用油5L", Decimal(1), 7990, 7990, None),
    ]


def test_sroie_tax_invoice_takes_inclusive_total_not_gst_summary() -> None:
    fields = parse_fields(make_rows(SROIE_TAX_INVOICE))
    assert fields.merchant == "OJC MARKETING SDN BHD"
    assert fields.date == dt.date(2019, 1, 15)
    assert fields.time == dt.time(11, 5, 16)
    assert fields.receipt_no == "PEGIV-1030765"
    assert fields.total == 17000
    assert fields.currency == "MYR"
    assert fields.address is not None and "81750 MASAI" in fields.address
    assert [(i.name, i.qty, i.amount) for i in fields.items] == [
        ("KINGS SAFETY SHOES KWD 805", Decimal(1), 17000)
    ]


def test_sroie_rounded_total_after_rounding_adjustment() -> None:
    fields = parse_fields(make_rows(SROIE_ROUNDING))
    assert fields.total == 779
    assert fields.date == dt.date(2017, 5, 9)
    assert fields.time == dt.time(15, 46)
    assert fields.receipt_no == "18286/102/T0297"
    assert fields.currency == "MYR"
    assert fields.payment_method == "cash"


def test_us_slip_grand_total_and_trailing_date() -> None:
    fields = parse_fields(make_rows(US_SLIP))
    assert fields.merchant == "TRADER JOE'S"
    assert fields.total == 1192
    assert fields.currency == "USD"
    assert fields.date == dt.date(2018, 6, 4)
    assert fields.time == dt.time(12, 34)
    assert fields.payment_method == "card"


def test_restaurant_bill_pays_after_member_discount() -> None:
    fields = parse_fields(make_rows(RESTAURANT))
    assert fields.merchant == "外婆家(西湖店)"
    assert fields.total == 4200
    assert fields.date == dt.date(2026, 11, 20)
    assert fields.time == dt.time(19, 42)
    assert fields.receipt_no == "20261120-0457"
    assert fields.payment_method == "alipay"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("合计:|186.30", 18630),
        ("合计|¥186.30", 18630),
        ("总计 186.30元", 18630),
        ("应收金额: 1,286.30", 128630),
        ("TOTAL RM 31.25", 3125),
        ("Total Amount Payable:|12.00", 1200),
        ("AMOUNT DUE|$8.40", 840),
        ("NETT TOTAL 45.10", 4510),
        ("Total (RM): 12.90", 1290),
        ("合计:\n186.30", 18630),  # amount printed under its label
        ("合计 25元", 2500),
        ("合计 3 186.30", 18630),
        ("应收 186.30 实收 200.00 找零 13.70", 18630),
        ("实收: 200.00\n找零: 13.70", 18630),  # handed over minus change
        ("实收 186.30", 18630),
        ("BALANCE DUE 12.50", 1250),
        ("消费金额:¥56.00\n优惠金额:¥6.00\n实付金额:¥50.00", 5000),
        ("合计金额:1,280.00元", 128000),
        ("TOTAL DUE $ 18.40", 1840),
    ],
)
def test_total_wordings(text: str, expected: int) -> None:
    rows = parse_rows(make_rows(text))
    assert find_total(rows)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "SUBTOTAL 29.50",
        "Sub Total: 29.50",
        "小计: 29.50",
        "GST 6% 1.77",
        "CASH 50.00",
        "CHANGE 18.75",
        "找零: 13.70",
        "Total Qty: 3",
        "Total Discount 2.00",
        "Rounding -0.02",
        "Total Sales (Excluding GST): 29.50",
    ],
)
def test_not_totals(text: str) -> None:
    assert find_total(parse_rows(make_rows(text)))[0] is None


def test_total_prefers_paid_amount_over_tendered_cash() -> None:
    rows = parse_rows(make_rows("合计 190.00\n优惠 -3.70\n实付 186.30\n现金 200.00\n找零 13.70"))
    assert find_total(rows)[0] == 18630


def test_total_ignores_gst_summary_below_the_tender_lines() -> None:
    text = "SUBTOTAL 29.50\nGST 6% 1.77\nTOTAL 31.27\nCASH 50.00\nCHANGE 18.73\nTotal 29.50 1.77"
    assert find_total(parse_rows(make_rows(text)))[0] == 3127


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20", dt.date(2026, 11, 20)),
        ("2026/11/20 08:15", dt.date(2026, 11, 20)),
        ("2026年11月20日", dt.date(2026, 11, 20)),
        ("2026.11.20", dt.date(2026, 11, 20)),
        ("20261120", dt.date(2026, 11, 20)),
        ("2026-11-2014:32:05", dt.date(2026, 11, 20)),
        ("25/12/2018", dt.date(2018, 12, 25)),
        ("04 JUN 2018", dt.date(2018, 6, 4)),
        ("04-Jun-18", dt.date(2018, 6, 4)),
        ("Jun 4, 2018", dt.date(2018, 6, 4)),
        ("15/01/19", dt.date(2019, 1, 15)),
        ("12/25/2018", dt.date(2018, 12, 25)),  # month first when the day cannot be a month
        ("26年11月20日", dt.date(2026, 11, 20)),
        ("Tarikh:11-Feb-2305:18 PM", dt.date(2023, 2, 11)),  # date glued to the time
        ("DATE:0ct 23, 2018", dt.date(2018, 10, 23)),  # O read as zero
        ("DATE : Ju1 28, 2024", dt.date(2024, 7, 28)),  # l read as one
    ],
)
def test_date_formats(text: str, expected: dt.date) -> None:
    assert [date for _, date in dates_in(text)] == [expected]


@pytest.mark.parametrize("text", ["186.30", "2026-13-45", "Tel 0755-26612345", "1999-01-01"])
def test_not_dates(text: str) -> None:
    assert dates_in(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14:32:05", dt.time(14, 32, 5)),
        ("03:46PM", dt.time(15, 46)),
        ("12:05 am", dt.time(0, 5)),
        ("2026-11-2014:32", dt.time(14, 32)),
    ],
)
def test_times(text: str, expected: dt.time) -> None:
    assert [time for _, time in times_in(text)] == [expected]


def test_expiry_date_is_not_the_transaction_date() -> None:
    text = "SHOP ONE\n有效期至 2027-01-31\n日期: 2026-11-20 10:00\n合计 10.00"
    assert parse_fields(make_rows(text)).date == dt.date(2026, 11, 20)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("单号: 0012026112008341", "0012026112008341"),
        ("小票号:A1-000231", "A1-000231"),
        ("流水号 20261120045", "20261120045"),
        ("Receipt#: 10234", "10234"),
        ("Invoice No : PEGIV-1030765", "PEGIV-1030765"),
        ("NO. 1016", "1016"),
        ("Bill No: CS00012345", "CS00012345"),
    ],
)
def test_receipt_numbers(line: str, expected: str) -> None:
    assert parse_fields(make_rows(f"SHOP\n{line}")).receipt_no == expected


@pytest.mark.parametrize(
    "line", ["TEL NO: 03-55231234", "GST REG NO: 000905547776", "NO. 12, JALAN SS2/24", "台号: 12"]
)
def test_numbers_that_are_not_receipt_numbers(line: str) -> None:
    assert parse_fields(make_rows(f"SHOP\n{line}")).receipt_no is None


def test_money_skips_dates_percentages_and_plain_integers() -> None:
    values = [m.value for m in find_money("2026.11.20 GST 6% 3 pcs 1,234.50 (2.00) RM 7")]
    assert values == [123450, -200, 700]


def test_item_with_weight_and_price_first_columns() -> None:
    text = "SHOP\n品名|单价|数量|金额\n猪肉|12.80|0.532kg|6.81\n苹果|8.00|2|16.00\n合计 22.81"
    items = parse_fields(make_rows(text)).items
    assert [(i.name, i.qty, i.unit_price, i.amount) for i in items] == [
        ("猪肉", Decimal("0.532"), 1280, 681),
        ("苹果", Decimal(2), 800, 1600),
    ]


def test_no_text_gives_empty_fields() -> None:
    fields = parse_fields([])
    assert fields.total is None and fields.date is None and fields.items == ()


def test_cash_sales_heading_does_not_end_the_items() -> None:
    text = """
    7-ELEVEN MALAYSIA SDN BHD
    CASH SALES
    Date/Time: Jul 7, 2026 13:31:00
    100PLUS 500ML
    6911765186949 3 3.20 9.60
    KIT KAT 4F|3.50
    Sub Total 13.10
    数量 2
    TOTAL: RM13.10
    """
    fields = parse_fields(make_rows(text))
    assert [(i.name, i.qty, i.amount) for i in fields.items] == [
        ("100PLUS 500ML", Decimal(3), 960),
        ("KIT KAT 4F", None, 350),
    ]
    assert fields.total == 1310


# Patterns met on real scanned Malaysian receipts (SROIE), in our own wording and numbers.


def test_parking_ticket_accepted_total_is_the_cash_handed_over() -> None:
    text = "PARKWAY CAR PARK S/B\nPAY PARKING TICKET|3.20 RM\nTOTAL AMOUNT|3.20 RM\n"
    text += "ACCEPTED TOTAL|5.00 RM\nCHANGE|1.80 RM"
    assert parse_fields(make_rows(text)).total == 320


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # registration number after the name: not a phone or GST line
        ("KEDAI SERI MAJU SDN. BHD. (402117-K)\nNO 8, JALAN MAWAR 2", "KEDAI SERI MAJU SDN. BHD."),
        ("TERAS PARKING SDN BHD (CO. NO:31877-X)\nTEL : 03-4411 2200", "TERAS PARKING SDN BHD"),
        # a brand heading above the registered company
        (
            "KOPI HOUSE\nKOPI HOUSE MIDVALLEY\nRIMBA DINING SDN BHD (550123-A)\nTEL: 03-2200 1100",
            "RIMBA DINING SDN BHD",
        ),
        ("SEMPURNA BAKERY S/B\nCOMPANY NO: 61234-U", "SEMPURNA BAKERY S/B"),
        # a GST number printed above the name does not end the header
        ("GST ID: 000712345678\nKEDAI RUNCIT AMAN\nNO 3, JALAN BUNGA", "KEDAI RUNCIT AMAN"),
    ],
)
def test_merchant_is_the_registered_company(header: str, expected: str) -> None:
    text = f"{header}\nTAX INVOICE\nDATE: 03/04/2019\nTOTAL 9.90"
    assert parse_fields(make_rows(text)).merchant == expected


def test_bill_to_customer_below_the_contact_lines_is_not_the_merchant() -> None:
    text = "HUP SENG WELDING SUPPLY\nNO 7 JALAN KEMPAS 2\nTEL:07-355 1020\n"
    text += "SIMPLIFIED TAX INVOICE\nMEGA STEEL WORKS SDN BHD\nRECEIPT#: CS00120044\nTOTAL 12.00"
    assert parse_fields(make_rows(text)).merchant == "HUP SENG WELDING SUPPLY"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TOTAL (RM) 12.30\nCASH 20.00\nCHANGE 7.70", 1230),
        ("Total Amount: RM6.40\nRounding: RM0.05\nNett Total: RM6.45", 645),
        ("TOTAL INCL. GST 25.40\nCASH 30.00", 2540),
        ("Total Sales Incl GST 8.97\nRounding Adj -0.02\nRounded Total (RM): 8.95", 895),
        ("TOTAL|43.40 Z\nTTL CASH|RM43.40", 4340),
        ("TOTAL SALES 31.90\nCASH 50.00", 3190),
    ],
)
def test_malaysian_total_wordings(text: str, expected: int) -> None:
    assert parse_fields(make_rows(f"KEDAI ABC SDN BHD\n{text}")).total == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("30 DEC 17 18:40:57", dt.date(2017, 12, 30)),
        ("Date: 25/12/2018 10:12:33 AM", dt.date(2018, 12, 25)),
        ("CB#: 67978 01/Apr/2017 01:25:02", dt.date(2017, 4, 1)),
        ("21-04-18 20:29 SH01", dt.date(2018, 4, 21)),
        ("ENTRY 23.03.18 14:59", dt.date(2018, 3, 23)),
    ],
)
def test_malaysian_date_lines(line: str, expected: dt.date) -> None:
    assert parse_fields(make_rows(f"KEDAI ABC SDN BHD\n{line}\nTOTAL 1.00")).date == expected


def test_two_digit_year_dates_on_chinese_receipts_are_year_first() -> None:
    assert dates_in("日期:26-01-24 10:12", year_first=True)[0][1] == dt.date(2026, 1, 24)
    assert dates_in("DATE 26-01-24", year_first=False)[0][1] == dt.date(2024, 1, 26)
    assert dates_in("2026-01-24", year_first=True)[0][1] == dt.date(2026, 1, 24)
