"""Invoices (发票): titles checked at the edge, requests for shipped goods at the price paid
less rebate, HQ issuing with number and PDF or rejecting, offline requests, statements."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from server.db.base import utcnow
from server.db.engine import Database
from server.db.session import transaction
from server.invoices import request_red_invoice
from server.settings import Settings
from server.trail.models import DecisionEntry
from tests.invoices.conftest import PDF, USCC, Client, add_title, shipped_order, upload_pdf
from tests.orders.conftest import Shop, make_shop
from tests.orders.test_mutations import SYNC
from tests.orders.test_rebate import rebate_shop

TEA = [{"sku": "TEA", "qty": 3}]  # 1197 fen


def request_body(title: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "titleId": title["id"], **extra}


async def test_titles_are_checked_in_both_languages(client: Client, shop: Shop) -> None:
    bad_tax = await client.post(
        "/mp/invoice-titles",
        json={"companyName": "某公司", "taxId": "91350100M000100Y44"},
        headers=shop.headers,
    )
    assert bad_tax.status_code == 422
    problem = bad_tax.json()
    assert problem["code"] == "invoice_title_invalid"
    assert [e["key"] for e in problem["errors"]] == ["taxId"]
    english = await client.post(
        "/mp/invoice-titles",
        json={"kind": "special", "companyName": "某公司", "taxId": USCC},
        headers={**shop.headers, "Accept-Language": "en"},
    )
    assert english.status_code == 422
    assert "special VAT" in english.json()["detail"]
    assert {e["key"] for e in english.json()["errors"]} == {
        "address",
        "phone",
        "bankName",
        "bankAccount",
    }
    for bad in ({"companyName": "a\x00b"}, {"companyName": "x" * 101}, {"phone": "abc"}):
        answer = await client.post(
            "/mp/invoice-titles",
            json={"companyName": "某公司", "taxId": USCC, **bad},
            headers=shop.headers,
        )
        assert answer.status_code == 422, bad
    first = await add_title(client, shop, taxId=USCC.lower())
    assert (first["isDefault"], first["taxId"]) == (True, USCC)
    special = await add_title(
        client,
        shop,
        kind="special",
        address="杭州市文三路 1 号",
        phone="0571-88888888",
        bankName="工商银行文三路支行",
        bankAccount="1202 0212 0900 1234 567",
        isDefault=True,
    )
    listed = (await client.get("/mp/invoice-titles", headers=shop.headers)).json()
    assert [(t["id"], t["isDefault"]) for t in listed] == [
        (special["id"], True),
        (first["id"], False),
    ]


async def test_a_dealer_cannot_touch_another_dealers_titles(
    client: Client, db: Database, settings: Settings, shop: Shop
) -> None:
    title = await add_title(client, shop)
    other = await make_shop(db, settings, with_world=False)
    body = {"companyName": "别家", "taxId": USCC}
    put = await client.put(f"/mp/invoice-titles/{title['id']}", json=body, headers=other.headers)
    assert put.status_code == 404
    assert put.json()["code"] == "invoice_title_not_found"
    gone = await client.delete(f"/mp/invoice-titles/{title['id']}", headers=other.headers)
    assert gone.status_code == 404


async def test_shipments_are_invoiced_at_the_price_paid_less_rebate_and_issued(
    client: Client, db: Database, settings: Settings
) -> None:
    shop = await rebate_shop(client, db, settings, cap_bp=1_000)
    title = await add_title(client, shop)
    order = await shipped_order(client, shop, TEA, ship=[{"sku": "TEA", "qty": 1}])
    assert order["rebate"] == 119
    whole = await client.post(
        "/mp/invoices", json=request_body(title, orderIds=[order["id"]]), headers=shop.headers
    )
    assert whole.status_code == 422
    assert whole.json()["code"] == "order_not_fully_shipped"
    shipment_id = order["shipments"][0]["id"]
    body = request_body(title, shipmentIds=[shipment_id], note="三月货款")
    made = await client.post("/mp/invoices", json=body, headers=shop.headers)
    assert made.status_code == 201, made.text
    invoice = made.json()
    assert (invoice["goods"], invoice["rebate"], invoice["amount"]) == (399, 39, 360)
    assert invoice["title"]["taxId"] == USCC
    assert "返利抵扣" in invoice["explanation"]["zh"]
    assert "rebate" in invoice["explanation"]["en"]
    again = await client.post("/mp/invoices", json=body, headers=shop.headers)
    assert (again.status_code, again.json()["id"]) == (200, invoice["id"])
    other_content = await client.post(
        "/mp/invoices", json={**body, "note": "改了"}, headers=shop.headers
    )
    assert (other_content.status_code, other_content.json()["code"]) == (409, "invoice_id_reused")
    twice = await client.post(
        "/mp/invoices", json=request_body(title, shipmentIds=[shipment_id]), headers=shop.headers
    )
    assert twice.status_code == 409
    assert (twice.json()["code"], twice.json()["invoiceId"]) == ("already_invoiced", invoice["id"])

    # the rest ships: the order is now whole, and only its uninvoiced shipment is left
    rest = await client.post(
        f"/hq/orders/{order['id']}/shipments",
        json={"carrier": "顺丰", "trackingNo": "SF2"},
        headers=shop.hq,
    )
    assert rest.json()["status"] == "shipped"
    second = await client.post(
        "/mp/invoices", json=request_body(title, orderIds=[order["id"]]), headers=shop.headers
    )
    assert second.status_code == 201, second.text
    assert (second.json()["goods"], second.json()["rebate"]) == (798, 80)  # 119 in all
    nothing = await client.post(
        "/mp/invoices", json=request_body(title, orderIds=[order["id"]]), headers=shop.headers
    )
    assert (nothing.status_code, nothing.json()["code"]) == (422, "nothing_to_invoice")

    summary = (await client.get("/mp/invoices/summary", headers=shop.headers)).json()
    assert (summary["shipped"], summary["requested"], summary["invoiced"]) == (1078, 1078, 0)
    assert summary["uninvoiced"] == 0

    # HQ issues: the PDF first (a PDF, nothing else), then the number
    no_pdf = await client.post(
        f"/hq/invoices/{invoice['id']}/issue",
        json={"number": "26330000000012345678"},
        headers=shop.hq,
    )
    assert (no_pdf.status_code, no_pdf.json()["code"]) == (422, "invoice_pdf_missing")
    assert await upload_pdf(client, shop, invoice["id"], b"\x89PNG\r\n\x1a\nnot a pdf") == 422
    assert await upload_pdf(client, shop, invoice["id"]) == 204
    for bad_number in ("12", "abc45678", "1" * 21):
        refused = await client.post(
            f"/hq/invoices/{invoice['id']}/issue", json={"number": bad_number}, headers=shop.hq
        )
        assert refused.status_code == 422, bad_number
    issued = await client.post(
        f"/hq/invoices/{invoice['id']}/issue",
        json={"number": "26330000000012345678"},
        headers=shop.hq,
    )
    assert issued.status_code == 200, issued.text
    assert (issued.json()["status"], issued.json()["number"]) == ("issued", "26330000000012345678")
    pdf = await client.get(issued.json()["pdfUrl"])
    assert pdf.content == PDF
    retried = await client.post(
        f"/hq/invoices/{invoice['id']}/issue",
        json={"number": "26330000000012345678"},
        headers=shop.hq,
    )
    assert retried.status_code == 200
    renumbered = await client.post(
        f"/hq/invoices/{invoice['id']}/issue",
        json={"number": "26330000000099999999"},
        headers=shop.hq,
    )
    assert (renumbered.status_code, renumbered.json()["code"]) == (409, "invoice_already_decided")

    assert await upload_pdf(client, shop, second.json()["id"]) == 204
    same_number = await client.post(
        f"/hq/invoices/{second.json()['id']}/issue",
        json={"number": "26330000000012345678"},
        headers=shop.hq,
    )
    assert (same_number.status_code, same_number.json()["code"]) == (409, "invoice_number_taken")

    summary = (await client.get("/mp/invoices/summary", headers=shop.headers)).json()
    assert (summary["requested"], summary["invoiced"], summary["uninvoiced"]) == (718, 360, 0)
    async with db.session() as s:
        stmt = select(DecisionEntry.outcome).where(DecisionEntry.document_id == invoice["id"])
        assert list((await s.execute(stmt)).scalars()) == ["issued"]


async def test_rejecting_or_withdrawing_frees_the_shipments(client: Client, shop: Shop) -> None:
    title = await add_title(client, shop)
    order = await shipped_order(client, shop, TEA, ship=None)
    first = await client.post(
        "/mp/invoices", json=request_body(title, orderIds=[order["id"]]), headers=shop.headers
    )
    rejected = await client.post(
        f"/hq/invoices/{first.json()['id']}/reject",
        json={"reason": "抬头与合同不符，请更正"},
        headers=shop.hq,
    )
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["reason"]) == (
        "rejected",
        "抬头与合同不符，请更正",
    )
    late = await client.post(f"/mp/invoices/{first.json()['id']}/cancel", headers=shop.headers)
    assert (late.status_code, late.json()["code"]) == (409, "invoice_already_decided")
    second = await client.post(
        "/mp/invoices", json=request_body(title, orderIds=[order["id"]]), headers=shop.headers
    )
    assert second.status_code == 201
    withdrawn = await client.post(
        f"/mp/invoices/{second.json()['id']}/cancel", headers=shop.headers
    )
    assert withdrawn.json()["status"] == "cancelled"
    third = await client.post(
        "/mp/invoices", json=request_body(title, orderIds=[order["id"]]), headers=shop.headers
    )
    assert third.status_code == 201
    queue = (await client.get("/hq/invoices", headers=shop.hq)).json()["items"]
    assert [i["id"] for i in queue] == [third.json()["id"]]


async def test_bad_requests_change_nothing(
    client: Client, db: Database, settings: Settings, shop: Shop
) -> None:
    title = await add_title(client, shop)
    order = await shipped_order(client, shop, TEA, ship=None)
    other = await make_shop(db, settings, with_world=False)
    other_title = await add_title(client, other)
    foreign = await client.post(
        "/mp/invoices",
        json=request_body(other_title, orderIds=[order["id"]]),
        headers=other.headers,
    )
    assert (foreign.status_code, foreign.json()["code"]) == (422, "invoice_source_unknown")
    not_mine = await client.post(
        "/mp/invoices", json=request_body(other_title, orderIds=[order["id"]]), headers=shop.headers
    )
    assert (not_mine.status_code, not_mine.json()["code"]) == (404, "invoice_title_not_found")
    cases: list[dict[str, Any]] = [
        request_body(title),  # nothing named
        request_body(title, orderIds=[str(uuid.uuid4()) for _ in range(201)]),
        request_body(title, orderIds=[order["id"]], note="a\x00b"),
        request_body(title, shipmentIds=[order["shipments"][0]["id"]] * 2),
        request_body(title, shipmentIds=["not-a-uuid"]),
    ]
    for body in cases:
        answer = await client.post("/mp/invoices", json=body, headers=shop.headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["code"]
    assert (await client.get("/hq/invoices", headers=shop.hq)).json()["items"] == []


async def test_racing_requests_put_a_shipment_on_one_invoice_only(
    client: Client, shop: Shop
) -> None:
    title = await add_title(client, shop)
    order = await shipped_order(client, shop, TEA, ship=None)
    body = {"titleId": title["id"], "orderIds": [order["id"]]}

    async def ask() -> int:
        answer = await client.post(
            "/mp/invoices", json={"id": str(uuid.uuid4()), **body}, headers=shop.headers
        )
        return answer.status_code

    codes = await asyncio.gather(*(ask() for _ in range(12)))
    assert sorted(codes).count(201) == 1
    assert set(codes) <= {201, 409, 422}  # 409: taken meanwhile; 422: nothing left
    assert len((await client.get("/hq/invoices", headers=shop.hq)).json()["items"]) == 1


async def test_an_invoice_requested_offline_is_applied_once_and_published(
    client: Client, shop: Shop
) -> None:
    title = await add_title(client, shop)
    order = await shipped_order(client, shop, TEA, ship=None)
    invoice_id = str(uuid.uuid4())
    mutation = {
        "mid": 1,
        "name": "invoice.request",
        "args": {"id": invoice_id, "titleId": title["id"], "orderIds": [order["id"]]},
        "businessKey": invoice_id,
    }
    client_id = f"dev-{shop.dealer.code}"
    for _ in range(2):  # the answer was lost: the same mid again
        pushed = await client.post(
            "/sync/push",
            json={"clientId": client_id, "mutations": [mutation]},
            headers={**shop.headers, **SYNC},
        )
        assert pushed.status_code == 200, pushed.text
        [result] = pushed.json()["results"]
        assert (result["status"], result["detail"]["amount"]) == ("applied", 1197)
    bad = {
        **mutation,
        "mid": 2,
        "args": {**mutation["args"], "id": str(uuid.uuid4())},
        "businessKey": str(uuid.uuid4()),
    }
    pushed = await client.post(
        "/sync/push",
        json={"clientId": client_id, "mutations": [bad]},
        headers={**shop.headers, **SYNC},
    )
    [result] = pushed.json()["results"]
    assert result["status"] == "rejected"
    pulled = await client.post(
        "/sync/pull", json={"clientId": client_id, "cursor": {}}, headers={**shop.headers, **SYNC}
    )
    assert pulled.status_code == 200, pulled.text
    changes = [c for c in pulled.json()["changes"] if c["entity"] == "invoice"]
    assert [c["key"] for c in changes] == [invoice_id]
    assert changes[0]["data"]["status"] == "requested"
    listed = (await client.get("/mp/invoices", headers=shop.headers)).json()["items"]
    assert [i["id"] for i in listed] == [invoice_id]


async def test_statements_show_invoiced_and_uninvoiced(client: Client, shop: Shop) -> None:
    title = await add_title(client, shop)
    first = await shipped_order(client, shop, TEA, ship=None)
    await shipped_order(client, shop, [{"sku": "W-550", "qty": 10}], ship=None)
    made = await client.post(
        "/mp/invoices", json=request_body(title, orderIds=[first["id"]]), headers=shop.headers
    )
    assert await upload_pdf(client, shop, made.json()["id"]) == 204
    await client.post(
        f"/hq/invoices/{made.json()['id']}/issue", json={"number": "12345678"}, headers=shop.hq
    )
    today = datetime.now(UTC).date()
    period = {"start": str(today - timedelta(days=30)), "end": str(today + timedelta(days=1))}
    for path, headers in (
        ("/mp/accounts/statement", shop.headers),
        (f"/hq/dealers/{shop.dealer.id}/accounts/statement", shop.hq),
    ):
        statement = await client.get(path, params=period, headers=headers)
        assert statement.status_code == 200, statement.text
        assert statement.json()["invoicing"] == {
            "shipped": 2197,
            "requested": 0,
            "invoiced": 1197,
            "uninvoiced": 1000,
        }
    csv = await client.get(
        "/mp/accounts/statement/export", params={**period, "format": "csv"}, headers=shop.headers
    )
    assert "未开票 uninvoiced" in csv.content.decode("utf-8-sig")
    assert "10.00" in csv.content.decode("utf-8-sig")


async def test_a_refund_of_invoiced_goods_asks_for_a_red_letter_invoice_once(
    client: Client, db: Database, shop: Shop
) -> None:
    title = await add_title(client, shop)
    order = await shipped_order(client, shop, TEA, ship=[{"sku": "TEA", "qty": 2}])  # 798
    blue = await client.post(
        "/mp/invoices",
        json=request_body(title, orderIds=[], shipmentIds=[order["shipments"][0]["id"]]),
        headers=shop.headers,
    )
    assert await upload_pdf(client, shop, blue.json()["id"]) == 204
    await client.post(
        f"/hq/invoices/{blue.json()['id']}/issue", json={"number": "87654321"}, headers=shop.hq
    )
    await client.post(
        f"/hq/orders/{order['id']}/shipments",
        json={"carrier": "顺丰", "trackingNo": "SF3"},
        headers=shop.hq,
    )  # 399 more shipped, not invoiced
    order_id = uuid.UUID(order["id"])
    async with transaction(db) as s:  # a refund within the uninvoiced part reverses nothing
        assert await request_red_invoice(s, order_id, 399, "return:R1", utcnow()) == []
    async with transaction(db) as s:
        [red] = await request_red_invoice(s, order_id, 399 + 500, "return:R2", utcnow())
        assert (red.amount, red.original_id) == (500, uuid.UUID(blue.json()["id"]))
    async with transaction(db) as s:  # the same return again: nothing new
        assert await request_red_invoice(s, order_id, 399 + 500, "return:R2", utcnow()) == []
    async with transaction(db) as s:  # everything back: the rest of the blue invoice
        [rest] = await request_red_invoice(s, order_id, 1197, "return:R3", utcnow())
        assert rest.amount == 298
    reds = (await client.get("/mp/invoices", params={"kind": "red"}, headers=shop.headers)).json()
    assert sorted(i["amount"] for i in reds["items"]) == [298, 500]
    assert all("红字发票" in i["explanation"]["zh"] for i in reds["items"])
    assert await upload_pdf(client, shop, reds["items"][0]["id"]) == 204
    issued = await client.post(
        f"/hq/invoices/{reds['items'][0]['id']}/issue", json={"number": "87654322"}, headers=shop.hq
    )
    assert issued.status_code == 200
    summary = (await client.get("/mp/invoices/summary", headers=shop.headers)).json()
    assert summary["invoiced"] == 798 - reds["items"][0]["amount"]
