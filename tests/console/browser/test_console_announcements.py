"""The HQ console's announcements page in a real browser: write, publish, see who has read it."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.console.browser.conftest import Console, Watched

pytestmark = pytest.mark.console


def dealer_reads(base_url: str, title: str) -> None:
    """dealer01 (D001, core tier) opens its announcements and reads the one titled ``title``."""
    with httpx.Client(base_url=base_url) as http:
        login = http.post("/mp/auth/dev-login", json={"username": "dealer01"})
        headers = {"authorization": f"Bearer {login.json()['accessToken']}"}
        mine = http.get("/mp/announcements", headers=headers).json()
        [notice] = [a for a in mine if a["titleZh"] == title]
        read = http.post(f"/mp/announcements/{notice['id']}/read", headers=headers)
        assert read.status_code == 200, read.text


def test_write_publish_and_see_who_has_read_an_announcement(
    watched: Watched, console_app: Console
) -> None:
    page = watched.page
    watched.sign_in("ops")
    page.wait_for_url(re.compile(r"/console/$"))
    page.get_by_role("link", name="公告").click()
    page.wait_for_url(re.compile(r"/console/announcements$"))
    page.get_by_role("link", name="新建公告").click()
    assert page.get_by_label("接收对象").get_attribute("aria-describedby") == "targets-hint"
    watched.shot("30-announcement-form")
    assert watched.check_accessibility() == []
    page.get_by_label("中文标题").fill("核心经销商春节发货安排")
    page.get_by_label("中文正文").fill("1 月 20 日起暂停发货。\n2 月 5 日恢复。")
    page.get_by_label("发送给").select_option("tiers")
    page.get_by_label("接收对象").fill("core")
    page.get_by_label("置顶").check()
    page.get_by_role("button", name="保存为草稿").click()
    page.wait_for_url(re.compile(r"done=created"))
    assert page.get_by_role("status").inner_text() == "公告已保存为草稿。"
    assert page.locator("[data-audience]").inner_text() == "指定等级: core"
    page.get_by_role("button", name="发布").click()
    page.wait_for_url(re.compile(r"done=published"))
    summary = page.locator("[data-read-summary]").inner_text()
    assert summary.startswith("0 / ")
    assert "未读" in page.locator("tr[data-dealer=D001]").inner_text()
    assert page.locator("tr[data-dealer=D006]").count() >= 1
    dealer_reads(console_app.base_url, "核心经销商春节发货安排")
    page.reload()
    assert page.locator("[data-read-summary]").inner_text().startswith("1 / ")
    first = page.locator("table.read-report tbody tr").first
    assert first.get_attribute("data-dealer") == "D001"
    assert "未读" not in first.inner_text()
    watched.shot("31-announcement-read")
    assert watched.check_accessibility() == []
    page.goto(f"{console_app.base_url}/console/announcements")
    row = page.locator("tbody tr").first
    assert "核心经销商春节发货安排" in row.inner_text() and "已发布" in row.inner_text()


def test_an_unknown_region_is_refused_in_words(watched: Watched, console_app: Console) -> None:
    watched.error_statuses_expected = True
    page = watched.page
    watched.sign_in("ops")
    page.wait_for_url(re.compile(r"/console/$"))
    page.goto(f"{console_app.base_url}/console/announcements/new")
    page.get_by_label("中文标题").fill("区域通知")
    page.get_by_label("中文正文").fill("内容")
    page.get_by_label("发送给").select_option("regions")
    page.get_by_label("接收对象").fill("330000, 999999")
    page.get_by_role("button", name="保存为草稿").click()
    assert page.get_by_role("alert").inner_text() == "公告的接收对象不存在"
    assert "目标 999999 不存在" in page.locator(".error-details").inner_text()
