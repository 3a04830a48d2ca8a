"""The HQ console in a real browser: sign in, review claims and orders, switch language."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.console.browser.conftest import Console, Watched

pytestmark = pytest.mark.console


def test_signed_out_the_console_is_the_sign_in_page(watched: Watched, console_app: Console) -> None:
    page = watched.page
    page.goto(f"{console_app.base_url}/console")
    assert re.search(r"/console/login", page.url)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    watched.shot("01-sign-in")
    assert watched.check_accessibility() == []


def test_sign_in_overview_and_sign_out(watched: Watched, console_app: Console) -> None:
    page = watched.page
    watched.sign_in("ops")
    page.wait_for_url(re.compile(r"/console/$"))
    assert page.get_by_role("heading", name="总览").is_visible()
    assert page.locator("[data-figure=claims_waiting]").inner_text() == "2"
    assert page.locator("[data-figure=orders_waiting]").inner_text() == "1"
    watched.shot("02-overview")
    assert watched.check_accessibility() == []
    # A dealer orders: the figures change without a reload (the realtime poke reaches the page).
    page.evaluate("window.notReloaded = true")
    login = httpx.post(f"{console_app.base_url}/mp/auth/dev-login", json={"username": "dealer01"})
    placed = httpx.post(
        f"{console_app.base_url}/mp/orders",
        json={"id": str(uuid.uuid4()), "lines": [{"sku": "SKU00001", "qty": 1}]},
        headers={"authorization": f"Bearer {login.json()['accessToken']}"},
    )
    assert placed.status_code == 201, placed.text
    expect(page.locator("[data-figure=orders_waiting]")).to_have_text("2", timeout=15000)
    assert page.evaluate("window.notReloaded") is True
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(re.compile(r"/console/login"))
    page.goto(f"{console_app.base_url}/console/claims")
    assert "/console/login" in page.url


def test_a_wrong_password_and_a_dealer_account_are_refused(watched: Watched) -> None:
    watched.error_statuses_expected = True
    page = watched.page
    watched.sign_in("ops", "wrong-password")
    assert page.get_by_role("alert").inner_text() == "用户名或密码错误"
    watched.sign_in("dealer01")
    assert page.get_by_role("alert").inner_text() == "控制台仅供总部账号使用。"
    assert "/console/login" in page.url


def test_review_a_claim_with_its_boxes_drawn(watched: Watched, console_app: Console) -> None:
    page, world = watched.page, console_app.world
    watched.sign_in("ops")
    page.goto(f"{console_app.base_url}/console/claims")
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 2
    assert "金额超过自动批准上限" in rows.first.inner_text()
    watched.shot("03-claims-queue")
    assert watched.check_accessibility() == []
    page.locator(f'a[href="/console/claims/{world.second_review_claim}"]').click()
    page.wait_for_url(re.compile(world.second_review_claim))
    boxes = page.locator("svg.receipt-image polygon.ocr-box")
    assert boxes.count() == 9
    for field in ("merchant", "receipt_no", "date", "total", "item"):
        assert page.locator(f"polygon.field-{field}").count() == 1, field
    assert page.locator("polygon.field-total title").text_content().startswith("合计: 30.00")
    image = page.locator("svg.receipt-image image")
    assert page.evaluate("(img) => img.getBBox().width > 0", image.element_handle())
    boxes.nth(1).hover()
    watched.shot("04-claim")
    assert watched.check_accessibility() == []
    # J goes to the next claim in the queue, K back.
    page.keyboard.press("j")
    page.wait_for_url(re.compile(world.review_claim))
    page.keyboard.press("k")
    page.wait_for_url(re.compile(world.second_review_claim))
    page.get_by_label("批准金额").fill("40")
    page.get_by_label("审核意见").fill("部分批准：一张小票模糊")
    page.get_by_role("button", name="批准").click()
    page.wait_for_url(re.compile(r"decided="))
    assert page.get_by_role("status").inner_text() == "核销单已处理。"
    page.goto(f"{console_app.base_url}/console/claims/{world.second_review_claim}")
    assert "已批准" in page.locator("h1").inner_text()
    assert "¥40.00" in page.locator("section.facts").inner_text()


def test_a_duplicate_is_shown_beside_the_earlier_receipt(
    watched: Watched, console_app: Console
) -> None:
    page, world = watched.page, console_app.world
    watched.sign_in("ops")
    page.goto(f"{console_app.base_url}/console/claims?status=any&reason=duplicate_content")
    assert page.locator("table.list tbody tr").count() == 1
    page.goto(f"{console_app.base_url}/console/claims/{world.duplicate_claim}")
    pair = page.locator("section.duplicate figure")
    assert pair.count() == 2
    assert pair.nth(1).locator("figcaption").inner_text() == "之前的小票"
    assert (
        page.locator(f'section.duplicate a[href="/console/claims/{world.review_claim}"]').count()
        == 1
    )
    watched.shot("05-duplicate")
    assert watched.check_accessibility() == []


def test_two_reviewers_deciding_one_claim_the_second_is_refused(
    browser: object, watched: Watched, console_app: Console
) -> None:
    watched.error_statuses_expected = True
    world = console_app.world
    other = browser.new_context(locale="zh-CN")  # type: ignore[attr-defined]
    second = Watched(other.new_page(), console_app.base_url)
    try:
        for w, who in ((watched, "ops"), (second, "hq")):
            w.sign_in(who)
            w.page.wait_for_url(re.compile(r"/console/$"))
            w.page.goto(f"{console_app.base_url}/console/claims/{world.review_claim}")
        watched.page.get_by_role("button", name="驳回").click()
        watched.page.wait_for_url(re.compile(r"decided="))
        second.page.get_by_role("button", name="批准").click()
        alert = second.page.get_by_role("alert")
        assert "已被他人处理" in alert.inner_text()
        second.shot("06-second-decision-refused")
    finally:
        other.close()
    watched.page.goto(f"{console_app.base_url}/console/claims/{world.review_claim}")
    assert "已驳回" in watched.page.locator("h1").inner_text()
    cells = watched.page.locator("td[data-kind]")
    kinds = [cells.nth(i).get_attribute("data-kind") for i in range(cells.count())]
    decisions = [k for k in kinds if k in ("approved", "rejected")]
    assert decisions == ["rejected"]  # one decision only
    # The decision is in the audit trail, found by what and which claim.
    watched.page.goto(
        f"{console_app.base_url}/console/audit?what=claim.&entity_id={world.review_claim}"
    )
    rows = watched.page.locator("table.audit tbody tr")
    assert [rows.nth(i).get_attribute("data-action") for i in range(rows.count())] == [
        "claim.rejected"
    ]
    assert "驳回核销" in rows.first.inner_text() and "总部运营" in rows.first.inner_text()


def test_approve_an_order_from_the_queue(watched: Watched, console_app: Console) -> None:
    page, world = watched.page, console_app.world
    watched.sign_in("ops")
    page.goto(f"{console_app.base_url}/console/orders")
    row = page.locator("table.list tbody tr").filter(
        has=page.locator(f'a[href="/console/orders/{world.review_order}"]')
    )
    assert "金额超过审核阈值" in row.inner_text()
    watched.shot("07-orders-queue")
    assert watched.check_accessibility() == []
    page.goto(f"{console_app.base_url}/console/orders/{world.review_order}")
    assert page.get_by_role("heading", name="价格说明").is_visible()
    watched.shot("08-order")
    assert watched.check_accessibility() == []
    page.goto(f"{console_app.base_url}/console/orders")
    row = page.locator("table.list tbody tr").filter(
        has=page.locator(f'a[href="/console/orders/{world.review_order}"]')
    )
    row.get_by_role("button", name=re.compile("批准")).click()
    page.wait_for_url(re.compile(r"decided=1"))
    assert "已批准" in page.locator("h1").inner_text()


def test_an_operator_cannot_change_the_threshold(watched: Watched, console_app: Console) -> None:
    watched.error_statuses_expected = True
    page = watched.page
    watched.sign_in("ops")
    page.goto(f"{console_app.base_url}/console/orders")
    page.get_by_label("订单审核阈值").fill("500")
    page.get_by_role("button", name="保存").click()
    assert page.get_by_role("alert").inner_text() == "此操作仅限总部管理员。"
    page.goto(f"{console_app.base_url}/console/orders")
    assert page.get_by_label("订单审核阈值").input_value() == "0.01"


def test_a_form_post_without_csrf_token_changes_nothing(
    watched: Watched, console_app: Console
) -> None:
    watched.error_statuses_expected = True
    page, world = watched.page, console_app.world
    watched.sign_in("hq")
    page.wait_for_url(re.compile(r"/console/$"))
    page.goto(f"{console_app.base_url}/console/claims/{world.review_claim}")
    # A page of another site would post the form without the token.
    response = page.request.post(
        f"{console_app.base_url}/console/orders/threshold", form={"threshold": "999"}
    )
    assert response.status == 403
    assert "安全令牌" in response.text()
    page.goto(f"{console_app.base_url}/console/orders")
    assert page.get_by_label("订单审核阈值").input_value() == "0.01"


def test_an_expired_session_asks_to_sign_in_again(watched: Watched, console_app: Console) -> None:
    page = watched.page
    watched.sign_in("ops")
    page.wait_for_url(re.compile(r"/console/$"))
    # Leave the overview first: its live stream's response would set the cookie back.
    page.goto(f"{console_app.base_url}/console/orders")
    cookie = next(c for c in page.context.cookies() if c["name"] == "channelhub_console")
    # The store forgets the session (as when it expires); the browser still holds the cookie.
    page.context.clear_cookies()
    page.context.add_cookies([{**cookie, "value": "0" * 64}])
    page.goto(f"{console_app.base_url}/console/claims")
    assert "/console/login" in page.url
    assert page.get_by_role("status").inner_text() == "登录已过期，请重新登录。"


def test_switch_to_english(watched: Watched, console_app: Console) -> None:
    page = watched.page
    watched.sign_in("ops")
    page.wait_for_url(re.compile(r"/console/$"))
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.get_by_role("heading", name="Overview").is_visible()
    page.goto(f"{console_app.base_url}/console/claims?status=any")
    assert page.get_by_role("heading", name="Claims review").is_visible()
    watched.shot("09-claims-english")
    assert watched.check_accessibility() == []


def test_assets_are_served_by_the_app_with_a_content_hash(console_app: Console) -> None:
    page = httpx.get(f"{console_app.base_url}/console/login")
    links = re.findall(r'(?:href|src)="(/console/static/[^"]+)"', page.text)
    assert len(links) == 2
    for link in links:
        assert re.search(r"\.[0-9a-f]{12}\.(css|js)$", link)
        asset = httpx.get(f"{console_app.base_url}{link}")
        assert asset.status_code == 200
        assert "immutable" in asset.headers["cache-control"]


def test_import_a_price_list_see_the_diff_and_publish(
    watched: Watched, console_app: Console, tmp_path: Path
) -> None:
    page = watched.page
    watched.sign_in("hq")
    page.wait_for_url(re.compile(r"/console/$"))
    page.goto(f"{console_app.base_url}/console/price-lists")
    watched.shot("10-price-lists")
    assert watched.check_accessibility() == []
    page.locator("tr", has_text="STD-2026").get_by_role("button", name="新建草稿").click()
    page.wait_for_url(re.compile(r"/console/price-lists/[0-9a-f-]{36}$"))
    assert "草稿" in page.locator("h1").inner_text()
    items_before = page.locator("dl dd").nth(3).inner_text()
    # Not a spreadsheet: a clear message, the draft untouched.
    watched.error_statuses_expected = True
    picture = tmp_path / "receipt.xlsx"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    page.get_by_label("表格文件（.xlsx 或 .csv）").set_input_files(str(picture))
    page.get_by_role("button", name="检查并导入草稿").click()
    assert "不是有效的 Excel" in page.get_by_role("alert").inner_text()
    # The answer replaced the page (the upload went by script); the address is the draft's.
    page.reload()
    assert page.locator("dl dd").nth(3).inner_text() == items_before
    # The exported draft with one price changed: the diff names it, old -> new.
    export = httpx.get(
        f"{console_app.base_url}{page.get_by_role('link', name='导出').get_attribute('href')}",
        cookies={c["name"]: c["value"] for c in page.context.cookies()},
    )
    assert export.status_code == 200
    lines = export.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "商品编码,单价（元）,阶梯类型,阶梯价"
    sku, price, *rest = lines[1].split(",")
    new_price = f"{float(price) + 1:.2f}"
    sheet = tmp_path / "prices.csv"
    sheet.write_text("\n".join([lines[0], ",".join([sku, new_price, *rest]), *lines[2:]]) + "\n")
    page.get_by_label("表格文件（.xlsx 或 .csv）").set_input_files(str(sheet))
    page.get_by_role("button", name="检查并导入草稿").click()
    assert page.locator("[data-figure=changed]").inner_text() == "1"
    assert page.locator("[data-figure=added]").inner_text() == "0"
    changed = page.locator("tr.changed")
    assert changed.count() == 1
    assert sku in changed.inner_text()
    assert f"→ ¥{new_price}" in changed.inner_text()
    watched.shot("11-price-list-diff")
    assert watched.check_accessibility() == []
    page.get_by_role("button", name="发布").click()
    page.wait_for_url(re.compile(r"published=1"))
    assert "已发布" in page.locator("h1").inner_text()


def test_a_big_price_file_shows_its_upload_progress(
    watched: Watched, console_app: Console, tmp_path: Path
) -> None:
    page = watched.page
    watched.sign_in("hq")
    page.wait_for_url(re.compile(r"/console/$"))
    page.goto(f"{console_app.base_url}/console/price-lists")
    page.locator("tr", has_text="CORE-2026").get_by_role("button", name="新建草稿").click()
    page.wait_for_url(re.compile(r"/console/price-lists/[0-9a-f-]{36}$"))
    draft_url = page.url
    export = httpx.get(
        f"{console_app.base_url}{page.get_by_role('link', name='导出').get_attribute('href')}",
        cookies={c["name"]: c["value"] for c in page.context.cookies()},
    )
    lines = export.content.decode("utf-8-sig").splitlines()
    # The same prices, each row with a long note (a column the import ignores): about 600 kB.
    note = "陈列说明" * (600_000 // 12 // (len(lines) - 1))
    sheet = tmp_path / "big-prices.csv"
    sheet.write_text("\n".join([lines[0] + ",备注", *(f"{x},{note}" for x in lines[1:])]) + "\n")
    assert sheet.stat().st_size > 500_000
    # A slow line (256 kB/s up) so the upload takes a few seconds, as a big file does.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 262_144},
    )
    page.get_by_label("表格文件（.xlsx 或 .csv）").set_input_files(str(sheet))
    page.get_by_role("button", name="检查并导入草稿").click()
    bar = page.get_by_role("progressbar", name="上传进度")
    expect(bar).to_be_visible()
    # Part of the file is up and the page says how much.
    page.wait_for_function(
        "() => { const b = document.getElementById('upload-progress');"
        " return b && b.value > 0 && b.value < 100; }"
    )
    assert re.fullmatch(r"正在上传：\d{1,2}%", page.locator("[data-upload-status]").inner_text())
    watched.shot("11b-price-list-upload-progress")
    expect(page.locator("[data-figure=unchanged]")).to_have_text(str(len(lines) - 1))
    assert page.locator("[data-figure=changed]").inner_text() == "0"
    assert page.url == draft_url  # reloading shows the draft, it does not post the file again
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    assert watched.check_accessibility() == []


def pull(console_app: Console, token: str, cursor: dict[str, int]) -> dict[str, int]:
    """One pull by a dealer's phone: what it sends is what it has (an acknowledgement)."""
    answer = httpx.post(
        f"{console_app.base_url}/sync/pull",
        json={"cursor": cursor, "clientId": "phone-of-dealer02", "limit": 1000, "protocol": 1},
        headers={"authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert not body["hasMore"]
    return body["cursor"]


def test_delivery_shows_a_dealer_node_acknowledge_a_publication(
    watched: Watched, console_app: Console
) -> None:
    login = httpx.post(f"{console_app.base_url}/mp/auth/dev-login", json={"username": "dealer02"})
    token = login.json()["accessToken"]
    cursor = pull(console_app, token, {})
    cursor = pull(console_app, token, cursor)  # the phone is up to date
    page = watched.page
    watched.sign_in("hq")
    page.wait_for_url(re.compile(r"/console/$"))
    page.goto(f"{console_app.base_url}/console/price-lists")
    page.locator("tr", has_text="STD-2026").get_by_role("button", name="新建草稿").click()
    page.wait_for_url(re.compile(r"/console/price-lists/[0-9a-f-]{36}$"))
    page.get_by_role("button", name="发布").click()
    page.wait_for_url(re.compile(r"published=1"))
    page.goto(f"{console_app.base_url}/console/delivery")
    section = page.locator('section[data-scope="price:default"]')
    assert "phone-of-dealer02" in section.locator("table").inner_text()
    assert "D002" in section.locator("table").inner_text()
    watched.shot("12-delivery-lagging")
    assert watched.check_accessibility() == []
    # One publication's own page: that publication alone, with its laggards.
    page.goto(f"{console_app.base_url}/console/delivery?publication=price:default")
    sections = page.locator("section[data-scope]")
    assert sections.count() == 1 and sections.get_attribute("data-scope") == "price:default"
    assert "phone-of-dealer02" in sections.locator("table").inner_text()
    page.get_by_role("link", name="全部发布").click()
    section = page.locator('section[data-scope="price:default"]')
    section.get_by_role("button", name="重新推送").click()
    page.wait_for_url(re.compile(r"poked="))
    cursor = pull(console_app, token, cursor)  # the phone pulls the new version...
    pull(console_app, token, cursor)  # ...and its next pull acknowledges it
    page.reload()
    section = page.locator('section[data-scope="price:default"]')
    progress = section.locator("[data-acked]")
    assert progress.get_attribute("data-acked") == progress.get_attribute("data-subscribed")
    assert section.locator("table").count() == 0
    watched.shot("13-delivery-acknowledged")
