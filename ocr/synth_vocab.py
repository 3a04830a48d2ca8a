"""Wording for the synthetic receipts: shops, products, addresses and label synonyms.

Chosen from how real tills print (Chinese chains, Malaysian and US stores), and kept apart
from the parser's own vocabulary.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["zh", "en"]
StoreKind = Literal["supermarket", "convenience", "pharmacy", "restaurant", "wholesale"]

MERCHANTS: dict[Language, dict[StoreKind, tuple[str, ...]]] = {
    "zh": {
        "supermarket": (
            "华润万家超市(南山店)",
            "永辉超市(福田店)",
            "物美超市",
            "家乐福(中山公园店)",
            "沃尔玛购物广场",
            "大润发超市",
        ),
        "convenience": (
            "美宜佳便利店",
            "罗森便利店",
            "全家便利店",
            "快客便利",
            "好德便利店",
            "天福便利店",
        ),
        "pharmacy": ("老百姓大药房", "益丰大药房", "海王星辰健康药房", "国大药房", "一心堂药店"),
        "restaurant": ("老乡鸡(人民路店)", "外婆家餐厅", "真功夫", "小杨生煎", "味千拉面"),
        "wholesale": (
            "鑫源副食品批发部",
            "华联食品批发商行",
            "诚信烟酒批发",
            "利民粮油批发",
            "万家福日杂批发",
        ),
    },
    "en": {
        "supermarket": (
            "TESCO EXTRA",
            "AEON BIG (M) SDN BHD",
            "GIANT HYPERMARKET",
            "ECONSAVE CASH & CARRY",
            "LOTUS'S STORES",
        ),
        "convenience": (
            "99 SPEEDMART",
            "7-ELEVEN MALAYSIA SDN BHD",
            "FAMILYMART",
            "KK SUPER MART",
            "MYNEWS.COM",
        ),
        "pharmacy": (
            "GUARDIAN PHARMACY",
            "CARING PHARMACY",
            "WATSONS",
            "BIG PHARMACY",
            "ALPRO PHARMACY",
        ),
        "restaurant": (
            "RESTORAN NASI KANDAR PELITA",
            "OLD TOWN WHITE COFFEE",
            "SECRET RECIPE",
            "RESTORAN SRI MELAKA",
            "PAPA JOHN'S PIZZA",
        ),
        "wholesale": (
            "SYARIKAT PERNIAGAAN GIN KEE",
            "MR. D.I.Y. (M) SDN BHD",
            "UNIHAKKA INTERNATIONAL SDN BHD",
            "BOOK TA.K (TAMAN DAYA) SDN BHD",
            "OJC MARKETING SDN BHD",
        ),
    },
}

PRODUCTS: dict[Language, dict[StoreKind, tuple[tuple[str, int], ...]]] = {
    "zh": {
        "supermarket": (
            ("可口可乐500ml", 350),
            ("农夫山泉550ml", 200),
            ("康师傅红烧牛肉面", 450),
            ("伊利纯牛奶250ml*12", 5990),
            ("乐事薯片70g", 790),
            ("海天酱油500ml", 1290),
            ("金龙鱼调和油5L", 7990),
            ("维达抽纸3包", 1590),
            ("青岛啤酒500ml", 550),
            ("德芙巧克力43g", 990),
            ("奥利奥饼干97g", 890),
            ("东北大米5kg", 3990),
        ),
        "convenience": (
            ("可口可乐330ml", 300),
            ("雪碧500ml", 350),
            ("统一冰红茶", 300),
            ("旺仔牛奶245ml", 550),
            ("康师傅矿泉水", 200),
            ("茶叶蛋", 200),
            ("关东煮", 1200),
            ("士力架51g", 550),
            ("红牛250ml", 600),
            ("三明治", 890),
        ),
        "pharmacy": (
            ("999感冒灵颗粒", 1850),
            ("布洛芬缓释胶囊", 2350),
            ("板蓝根颗粒", 1500),
            ("云南白药创可贴", 990),
            ("维生素C片", 2800),
            ("医用口罩10只", 1290),
            ("藿香正气水", 1650),
            ("阿莫西林胶囊", 1980),
        ),
        "restaurant": (
            ("宫保鸡丁", 3800),
            ("鱼香肉丝", 3200),
            ("米饭", 200),
            ("酸辣土豆丝", 1800),
            ("红烧肉", 4800),
            ("西红柿蛋汤", 1600),
            ("可乐", 600),
            ("青岛啤酒", 1000),
        ),
        "wholesale": (
            ("可口可乐500ml*24箱", 6500),
            ("农夫山泉550ml*24箱", 3600),
            ("康师傅方便面*24", 7200),
            ("金龙鱼大米10kg", 6900),
            ("青岛啤酒*24听", 9800),
            ("王老吉310ml*24", 8400),
        ),
    },
    "en": {
        "supermarket": (
            ("MILO 1KG", 2890),
            ("NESCAFE CLASSIC 200G", 2450),
            ("COCA COLA 1.5L", 450),
            ("GARDENIA BREAD", 380),
            ("DUTCH LADY MILK 1L", 760),
            ("MAGGI CURRY 5S", 620),
            ("FAIRPRICE EGGS 10S", 590),
            ("BASMATI RICE 5KG", 3290),
            ("DETTOL SOAP 100G", 450),
            ("COLGATE 175G", 890),
        ),
        "convenience": (
            ("100PLUS 500ML", 270),
            ("COCA COLA 320ML", 250),
            ("MINERAL WATER 600ML", 150),
            ("KIT KAT 4F", 350),
            ("SLURPEE REGULAR", 390),
            ("ONIGIRI TUNA", 550),
            ("RED BULL 250ML", 420),
            ("POTATO CHIPS", 490),
        ),
        "pharmacy": (
            ("PANADOL ACTIFAST 20S", 1290),
            ("VITAMIN C 1000MG", 3990),
            ("DETTOL ANTISEPTIC", 1590),
            ("FACE MASK 50S", 2500),
            ("STREPSILS 16S", 1190),
            ("HAND SANITIZER 500ML", 1890),
            ("PLASTER 100S", 890),
        ),
        "restaurant": (
            ("NASI LEMAK", 850),
            ("TEH TARIK", 280),
            ("KOPI O", 200),
            ("MEE GORENG", 750),
            ("CHICKEN RICE", 900),
            ("ROTI CANAI", 180),
            ("ICED LEMON TEA", 350),
            ("CURRY LAKSA", 1200),
        ),
        "wholesale": (
            ("A4 PAPER 80GSM", 1450),
            ("CABLE TIE 100PCS", 590),
            ("PVC PIPE 20MM", 1280),
            ("SAFETY GLOVES", 450),
            ("CEMENT 50KG", 2100),
            ("PAINT BRUSH 2IN", 390),
            ("MASKING TAPE", 320),
        ),
    },
}

ADDRESSES: dict[Language, tuple[str, ...]] = {
    "zh": (
        "深圳市南山区南海大道1088号",
        "广州市天河区天河路208号",
        "上海市徐汇区漕溪北路18号",
        "北京市朝阳区建国路88号",
        "杭州市西湖区文三路90号",
        "成都市武侯区人民南路四段12号",
    ),
    "en": (
        "NO 2 & 4, JALAN BAYU 4, BANDAR SERI ALAM",
        "LOT 1851-A, JALAN KPB 6, 43300 SERI KEMBANGAN",
        "NO. 31G, JALAN SETIA INDAH X, 40170 SETIA ALAM",
        "12 MAIN STREET, SPRINGFIELD",
        "NO 5, JALAN PJU 5/1, KOTA DAMANSARA",
    ),
}

TOTAL_LABELS: dict[Language, tuple[str, ...]] = {
    "zh": (
        "合计",
        "总计",
        "应收",
        "实付",
        "应付金额",
        "合计金额",
        "消费金额",
        "总金额",
        "应收金额",
        "实付金额",
    ),
    "en": (
        "TOTAL",
        "GRAND TOTAL",
        "Total Amount",
        "AMOUNT DUE",
        "NETT TOTAL",
        "TOTAL (RM)",
        "Total Incl. GST",
        "Total Payable",
        "Total",
    ),
}
NUMBER_LABELS: dict[Language, tuple[str, ...]] = {
    "zh": ("单号", "小票号", "流水号", "单据号", "销售单号", "NO.", "交易号"),
    "en": ("Receipt No", "Invoice No", "Receipt#", "Bill No", "Doc No", "Trans#", "Inv No", "NO."),
}
DATE_LABELS: dict[Language, tuple[str, ...]] = {
    "zh": ("日期", "时间", "交易时间", "销售日期", "", "打印时间"),
    "en": ("Date", "DATE", "Date/Time", "", "Tarikh"),
}
CASHIER: dict[Language, tuple[str, ...]] = {
    "zh": ("收银员: 001", "收银员:张丽", "收银台: 03", "操作员: 李明", "机号:02 收银员:08"),
    "en": (
        "Cashier: NG CHUAN MIN",
        "CASHIER : 0012",
        "Served by: AMIRAH",
        "Counter 2  Staff 15",
        "POS 03 / OPR 11",
    ),
}
THANKS: dict[Language, tuple[str, ...]] = {
    "zh": (
        "谢谢惠顾,欢迎再次光临",
        "商品如有质量问题请凭小票7日内退换",
        "请妥善保管小票",
        "欢迎光临 谢谢惠顾",
        "会员积分请扫码",
    ),
    "en": (
        "THANK YOU, PLEASE COME AGAIN",
        "Goods sold are not returnable",
        "Thank you for shopping with us",
        "*** THANK YOU ***",
        "Please keep this receipt",
    ),
}
