"""Attachments: presigned upload like claim receipts, size and type limits, checked at publish."""

from __future__ import annotations

import uuid
from typing import Any

from server.storage import ObjectStorage
from tests.announcements.conftest import Channel, Client, create, publish

HOST = "http://testserver.local"
PDF = b"%PDF-1.4\n" + b"1 0 obj << >> endobj\n" * 20 + b"%%EOF\n"
MB = 1024 * 1024


async def presign(
    client: Client, channel: Channel, a: dict[str, Any], **body: Any
) -> tuple[int, dict[str, Any]]:
    body = {
        "attachmentId": str(uuid.uuid4()),
        "fileName": "发货安排.pdf",
        "contentType": "application/pdf",
        "size": len(PDF),
        **body,
    }
    response = await client.post(
        f"/hq/announcements/{a['id']}/attachments", json=body, headers=channel.hq
    )
    return response.status_code, response.json()


async def upload(client: Client, form: dict[str, Any], data: bytes) -> int:
    files = {"file": ("f.pdf", data, "application/pdf")}
    response = await client.post(form["url"].removeprefix(HOST), data=form["fields"], files=files)
    return response.status_code


async def test_an_uploaded_attachment_is_published_and_downloaded_by_the_audience(
    client: Client, channel: Channel
) -> None:
    a = await create(client, channel.hq)
    status, form = await presign(client, channel, a)
    assert status == 200, form
    assert form["maxBytes"] == len(PDF)  # the form takes no more than was declared
    retry_status, retry = await presign(client, channel, a, attachmentId=form["attachmentId"])
    assert (retry_status, retry["key"]) == (200, form["key"])  # a retry: a fresh form, one file
    assert await upload(client, form, PDF) == 204
    live = await publish(client, channel.hq, a)
    [attachment] = live["attachments"]
    assert (attachment["fileName"], attachment["size"]) == ("发货安排.pdf", len(PDF))
    west = channel.users[channel.west_lake.code]
    [notice] = (await client.get("/mp/announcements", headers=west)).json()
    assert notice["attachments"] == [attachment]
    link = await client.get(
        f"/mp/announcements/{a['id']}/attachments/{attachment['id']}", headers=west
    )
    assert link.status_code == 200, link.text
    download = await client.get(link.json()["url"].removeprefix(HOST))
    assert (download.status_code, download.content) == (200, PDF)
    unknown = await client.get(
        f"/mp/announcements/{a['id']}/attachments/{uuid.uuid4()}", headers=west
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "attachment_not_found")
    late = await presign(client, channel, a)
    assert late[0] == 409 and late[1]["code"] == "announcement_not_draft"


async def test_oversized_and_wrong_attachments_are_clear_errors(
    client: Client, channel: Channel
) -> None:
    a = await create(client, channel.hq)
    status, problem = await presign(client, channel, a, size=10 * MB + 1)
    assert (status, problem["code"], problem["maxBytes"]) == (422, "attachment_too_large", 10 * MB)
    assert "10 MB" in problem["detail"]
    status, problem = await presign(client, channel, a, contentType="text/html")
    assert status == 422
    status, form = await presign(client, channel, a)
    assert await upload(client, form, PDF + b"x" * 10) == 422  # larger than declared
    missing = await client.post(f"/hq/announcements/{a['id']}/publish", headers=channel.hq)
    assert (missing.status_code, missing.json()["code"]) == (422, "attachment_missing")
    reused = await presign(client, channel, a, attachmentId=form["attachmentId"], size=99)
    assert (reused[0], reused[1]["code"]) == (409, "attachment_id_reused")
    other = await create(client, channel.hq)
    taken = await presign(client, channel, other, attachmentId=form["attachmentId"])
    assert (taken[0], taken[1]["code"]) == (409, "attachment_id_reused")


async def test_bytes_not_of_the_declared_type_are_refused_at_publish(
    client: Client, channel: Channel
) -> None:
    a = await create(client, channel.hq)
    status, form = await presign(client, channel, a, contentType="image/png", size=len(PDF))
    assert status == 200
    storage: ObjectStorage = client.app.state.storage
    await storage.put(form["key"], PDF, "image/png")  # an S3 upload is not sniffed on the way in
    refused = await client.post(f"/hq/announcements/{a['id']}/publish", headers=channel.hq)
    assert (refused.status_code, refused.json()["code"]) == (422, "attachment_type_invalid")
    detail = (await client.get(f"/hq/announcements/{a['id']}", headers=channel.hq)).json()
    assert detail["status"] == "draft"


async def test_at_most_five_attachments(client: Client, channel: Channel) -> None:
    a = await create(client, channel.hq)
    for _ in range(5):
        assert (await presign(client, channel, a))[0] == 200
    status, problem = await presign(client, channel, a)
    assert (status, problem["code"]) == (422, "attachments_too_many")
