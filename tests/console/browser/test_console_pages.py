"""The HQ console's promotions, dealers, webhooks and audit pages in a real browser."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.console.browser.conftest import Console, Watched
from tests.console.browser.data import PASSWORD
from tests.invoices.conftest import PDF

pytestmark = pytest.mark.console


def signed_in(watched: Watched, who: str) -> None:
    watched.sign_in(who)
    watched.page.wait_for_url(re.compile(r"/console/$"))  # type: ignore[attr-defined]


def test_create_a_tiered_promotion_and_see_it_listed(
    watched: Watched, console_app: Console
) -> None:
    page = watched.page
    signed_in(watched, "ops")
    page.get_by_role("link", name="促销政策").click()
    page.wait_for_url(re.compile(r"/console/promotions$"))
    pilot = page.locator("tr[data-code=MJ-PILOT]")
    assert "满减（阶梯）" in pilot.inner_text()
    assert pilot.locator("progress").get_attribute("max") == "500000"
    assert "¥5,000.00" in pilot.inner_text()
    watched.shot("14-promotions")
    assert watched.check_accessibility() == []
    page.get_by_role("link", name="新建促销").click()
    page.wait_for_url(re.compile(r"/console/promotions/new$"))
    page.wait_for_load_state("load")  # the form's script has hidden the other kinds' fields
    # Every field explains itself; only the chosen kind's fields show.
    assert page.get_by_label("总预算（元）").get_attribute("aria-describedby") == "budget-hint"
    assert page.locator("fieldset[data-kind=buy_get]").is_hidden()
    watched.shot("15-promotion-form")
    assert watched.check_accessibility() == []
    page.get_by_label("促销类型").select_option("tiered")
    page.get_by_label("活动编码").fill("MJ-SPRING")
    page.get_by_label("名称", exact=True).fill("春季满减")
    page.get_by_label("参与商品").fill("SKU00001, SKU00002")
    page.get_by_label("第 1 档：满（元）").fill("1000")
    page.get_by_label("第 1 档：减（元）").fill("50")
    page.get_by_label("第 2 档：满（元）").fill("3000")
    page.get_by_label("第 2 档：减（元）").fill("200")
    page.get_by_label("总预算（元）").fill("20000")
    page.get_by_role("button", name="保存为草稿").click()
    page.wait_for_url(re.compile(r"done=created"))
    assert page.get_by_role("status").inner_text() == "促销已保存为草稿。"
    rule = page.locator("[data-rule]").inner_text()
    assert "满 ¥1,000.00 减 ¥50.00" in rule and "满 ¥3,000.00 减 ¥200.00" in rule
    page.get_by_role("button", name="发布").click()
    page.wait_for_url(re.compile(r"done=published"))
    page.goto(f"{console_app.base_url}/console/promotions")
    row = page.locator("tr[data-code=MJ-SPRING]")
    assert "已发布" in row.inner_text()
    assert row.locator("[data-budget-limit]").get_attribute("data-budget-limit") == "2000000"


def test_a_buy_get_with_an_unknown_gift_is_refused_in_words(
    watched: Watched, console_app: Console
) -> None:
    watched.error_statuses_expected = True
    page = watched.page
    signed_in(watched, "ops")
    page.goto(f"{console_app.base_url}/console/promotions/new")
    page.get_by_label("促销类型").select_option("buy_get")
    assert page.locator("fieldset[data-kind=tiered]").is_hidden()
    page.get_by_label("活动编码").fill("BG-NOPE")
    page.get_by_label("名称", exact=True).fill("买十赠一")
    page.get_by_label("参与商品").fill("SKU00001")
    page.get_by_label("买（件）").fill("10")
    page.get_by_label("赠品 SKU").fill("NO-SUCH-SKU")
    page.get_by_label("赠（件）").fill("1")
    page.get_by_role("button", name="保存为草稿").click()
    assert page.get_by_role("alert").inner_text() == "促销政策定义无效"
    assert "商品 NO-SUCH-SKU 不存在" in page.locator(".error-details").inner_text()
    page.goto(f"{console_app.base_url}/console/promotions")
    assert page.locator("tr[data-code=BG-NOPE]").count() == 0


def test_a_pilot_shows_its_groups_and_the_report_as_a_chart(
    watched: Watched, console_app: Console
) -> None:
    page = watched.page
    signed_in(watched, "ops")
    page.goto(f"{console_app.base_url}/console/promotions/{console_app.world.pilot_promotion}")
    groups = {
        name: page.locator(f"section.pilot-group[data-group={name}] li").count()
        for name in ("test", "control")
    }
    assert groups["test"] > 0 and groups["control"] > 0
    report = page.locator("table.pilot-report")
    assert report.locator("tr[data-group=test] td").first.inner_text() == str(groups["test"])
    assert report.locator("tr[data-group=control] td").first.inner_text() == str(groups["control"])
    chart = page.locator("svg.pilot-chart")
    assert chart.locator("polyline").count() == 2
    # Seven days so far (six before today, and today): one point per day and group.
    assert chart.locator("circle.series-test").count() == 7
    assert chart.locator("circle.series-control").count() == 7
    watched.shot("16-promotion-pilot")
    assert watched.check_accessibility() == []


def pull_as(console_app: Console, username: str, client_id: str) -> None:
    """A dealer's phone pulls twice: the second pull acknowledges what the first gave."""
    login = httpx.post(f"{console_app.base_url}/mp/auth/dev-login", json={"username": username})
    headers = {"authorization": f"Bearer {login.json()['accessToken']}"}
    cursor: dict[str, int] = {}
    for _ in range(2):
        answer = httpx.post(
            f"{console_app.base_url}/sync/pull",
            json={"cursor": cursor, "clientId": client_id, "limit": 1000, "protocol": 1},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        cursor = answer.json()["cursor"]


def test_dealers_search_filter_and_a_dealer_with_its_node(
    watched: Watched, console_app: Console
) -> None:
    pull_as(console_app, "dealer03", "phone-of-dealer03")
    page = watched.page
    signed_in(watched, "ops")
    page.goto(f"{console_app.base_url}/console/dealers")
    assert page.locator("table.list tbody tr").count() == 12
    page.get_by_label("层级").select_option("watch")
    page.get_by_role("button", name="查找").click()
    codes = page.locator("table.list tbody tr td:first-child").all_inner_texts()
    assert codes == ["D003", "D009", "D011"]
    page.get_by_label("编码或名称").fill("西湖")
    page.get_by_role("button", name="查找").click()
    assert page.locator("table.list tbody tr td:first-child").all_inner_texts() == ["D003"]
    watched.shot("17-dealers")
    assert watched.check_accessibility() == []
    page.get_by_role("link", name="D003").click()
    page.wait_for_url(re.compile(r"/console/dealers/[0-9a-f-]{36}$"))
    assert page.locator("[data-tier]").inner_text() == "观察"
    assert "330106" in page.locator("section.facts").inner_text()
    assert page.locator("[data-balance=available]").inner_text().startswith("¥")
    assert page.locator("[data-balance=rebate-available]").inner_text().startswith("¥")
    assert "返利" in page.locator("[data-balance=rebate-rule]").inner_text()
    node = page.locator('table[data-node="phone-of-dealer03"]')
    assert "设备" in node.locator("caption").inner_text()
    row = node.locator('tr[data-scope="price:default"]')
    cells = row.locator("td").all_inner_texts()
    assert cells[1] == cells[2] and int(cells[1]) > 0  # acknowledged the head
    assert "已是最新" in row.inner_text()
    watched.shot("18-dealer")
    assert watched.check_accessibility() == []


def test_an_operator_may_not_pause_or_replay_a_webhook(
    watched: Watched, console_app: Console
) -> None:
    watched.error_statuses_expected = True
    page, world = watched.page, console_app.world
    signed_in(watched, "ops")
    page.goto(f"{console_app.base_url}/console/webhooks")
    page.get_by_role("button", name=f"暂停 {world.webhook}").click()
    assert page.get_by_role("alert").inner_text() == "此操作仅限总部管理员。"
    page.goto(f"{console_app.base_url}/console/webhooks")
    page.get_by_role("button", name=f"重发 {world.dead_delivery}").click()
    assert page.get_by_role("alert").inner_text() == "此操作仅限总部管理员。"
    page.goto(f"{console_app.base_url}/console/webhooks")
    endpoint = page.locator(f'tr[data-endpoint="{world.webhook}"]')
    assert endpoint.locator("[data-active]").get_attribute("data-active") == "true"
    delivery = page.locator(f'tr[data-event="{world.dead_delivery}"]')
    assert delivery.get_attribute("data-status") == "dead"


def test_an_admin_pauses_a_webhook_and_replays_a_delivery(
    watched: Watched, console_app: Console
) -> None:
    page, world = watched.page, console_app.world
    signed_in(watched, "hq")
    page.goto(f"{console_app.base_url}/console/webhooks")
    dead = page.locator(f'tr[data-event="{world.dead_delivery}"]')
    assert "已放弃" in dead.inner_text()
    assert "ConnectError" in dead.inner_text()
    watched.shot("19-webhooks")
    assert watched.check_accessibility() == []
    page.get_by_role("button", name=f"暂停 {world.webhook}").click()
    page.wait_for_url(re.compile(r"done=paused"))
    endpoint = page.locator(f'tr[data-endpoint="{world.webhook}"]')
    assert endpoint.locator("[data-active]").inner_text() == "已暂停"
    page.get_by_role("button", name=f"重发 {world.dead_delivery}").click()
    page.wait_for_url(re.compile(r"done=replayed"))
    assert page.get_by_role("status").inner_text() == "已重新排队投递。"
    replayed = page.locator(f'tr[data-event="{world.dead_delivery}"]')
    assert replayed.get_attribute("data-status") == "pending"
    assert replayed.locator("td.num").inner_text() == "0"  # paused: not attempted again
    page.get_by_role("button", name=f"恢复 {world.webhook}").click()
    page.wait_for_url(re.compile(r"done=resumed"))
    assert endpoint.locator("[data-active]").inner_text() == "投递中"
    # Deleting asks first: declined, nothing happens; accepted, the endpoint and its log go.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name=f"删除 {world.webhook}").click()
    assert endpoint.count() == 1 and "done=resumed" in page.url
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"删除 {world.webhook}").click()
    page.wait_for_url(re.compile(r"done=deleted"))
    assert page.get_by_role("status").inner_text() == "已删除该端点。"
    assert endpoint.count() == 0
    assert page.locator(f'tr[data-event="{world.dead_delivery}"]').count() == 0


def test_search_the_audit_trail_for_a_decision_made_here(
    watched: Watched, console_app: Console
) -> None:
    base = console_app.base_url
    login = httpx.post(f"{base}/auth/login", json={"username": "ops", "password": PASSWORD})
    headers = {"authorization": f"Bearer {login.json()['accessToken']}"}
    created = httpx.post(
        f"{base}/hq/promotions",
        json={
            "code": "RB-AUDIT",
            "name": "返利审计",
            "mechanic": {"kind": "rebate", "shareBp": 150},
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    page = watched.page
    signed_in(watched, "hq")
    page.get_by_role("link", name="审计").click()
    page.wait_for_url(re.compile(r"/console/audit$"))
    assert page.locator("table.audit tbody tr").count() > 0
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    page.get_by_label("操作人").fill("ops")
    page.get_by_label("操作", exact=True).fill("promotion.")
    page.get_by_label("起始日期").fill(today)
    page.get_by_label("截止日期").fill(today)
    page.get_by_role("button", name="查找").click()
    rows = page.locator("table.audit tbody tr")
    assert {rows.nth(i).get_attribute("data-action") for i in range(rows.count())} <= {
        "promotion.created",
        "promotion.published",
        "promotion.archived",
        "promotion.updated",
    }
    mine = page.locator(f'tr[data-entity-id="{created.json()["id"]}"]')
    assert mine.count() == 1
    assert "创建促销" in mine.inner_text() and "总部运营" in mine.inner_text()
    assert "RB-AUDIT" in mine.inner_text()
    watched.shot("20-audit")
    assert watched.check_accessibility() == []
    # Somebody else's decisions are not ops's.
    page.get_by_label("操作人").fill("hq")
    page.get_by_role("button", name="查找").click()
    assert page.locator(f'tr[data-entity-id="{created.json()["id"]}"]').count() == 0
    page.get_by_role("button", name="English").click()
    page.wait_for_url(re.compile(r"/console/audit"))
    assert page.get_by_role("heading", name="Audit").is_visible()
    page.get_by_label("Who").fill("ops")
    page.get_by_role("button", name="Search").click()
    assert (
        "Promotion created"
        in page.locator(f'tr[data-entity-id="{created.json()["id"]}"]').inner_text()
    )
    watched.shot("21-audit-english")
    assert watched.check_accessibility() == []


def test_issue_an_invoice_with_its_pdf_after_a_wrong_file(
    watched: Watched, console_app: Console
) -> None:
    watched.error_statuses_expected = True  # the PNG is refused with a 422 page
    page, world = watched.page, console_app.world
    signed_in(watched, "ops")
    page.get_by_role("link", name="发票").click()
    row = page.locator(f'tr[data-invoice="{world.invoice_request}"]')
    assert "杭州西湖商贸有限公司" in row.inner_text()
    assert "待开票" in row.inner_text()
    watched.shot("21-invoices")
    assert watched.check_accessibility() == []
    row.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/console/invoices/[0-9a-f-]{36}$"))
    assert "91350100M000100Y43" in page.locator("section.facts").inner_text()
    assert "按实付单价" in page.locator("[data-explanation]").inner_text()
    assert watched.check_accessibility() == []
    page.get_by_label("发票号码").fill("26332000000012345678")
    png = {"name": "scan.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"0" * 64}
    page.get_by_label("发票 PDF（不超过 5 MB）").set_input_files(png)
    page.get_by_role("button", name="开具发票").click()
    assert page.get_by_role("alert").inner_text() == "上传的文件不是 PDF"
    page.go_back()
    page.get_by_label("发票号码").fill("26332000000012345678")
    pdf = {"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": PDF}
    page.get_by_label("发票 PDF（不超过 5 MB）").set_input_files(pdf)
    page.get_by_role("button", name="开具发票").click()
    page.wait_for_url(re.compile(r"decided=1"))
    assert page.locator("[data-status]").get_attribute("data-status") == "issued"
    assert page.locator("[data-number]").inner_text() == "26332000000012345678"
    watched.shot("22-invoice-issued")
    link = page.get_by_role("link", name="下载").get_attribute("href")
    assert link is not None
    assert httpx.get(link).content == PDF


def test_an_operator_approves_a_credit_raise_waiting_for_them(
    watched: Watched, console_app: Console
) -> None:
    page, world = watched.page, console_app.world
    signed_in(watched, "ops")
    page.get_by_role("link", name="审批").click()
    row = page.locator(f'tr[data-run="{world.credit_run}"]')
    assert "授信调整" in row.inner_text()
    assert "风控" in row.inner_text() and "increase" in row.inner_text()
    watched.shot("23-approvals")
    assert watched.check_accessibility() == []
    row.get_by_label("意见").fill("销量核实")
    row.get_by_role("button", name=re.compile("^批准")).click()
    page.wait_for_url(re.compile(r"done=approved"))
    assert page.get_by_role("status").inner_text() == "已批准该步骤。"
    assert page.locator(f'tr[data-run="{world.credit_run}"]').count() == 0
    page.get_by_role("link", name="经销商").click()
    page.get_by_role("link", name="D002").click()
    assert "8,888,888.00" in page.locator("main").inner_text()
