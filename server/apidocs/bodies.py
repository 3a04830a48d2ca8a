"""Request bodies a handler reads itself (files), stated for the OpenAPI document.

The docs page shows a file picker for a ``format: binary`` string: with these, a reader can
send a receipt photo or a price file from the docs page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType

MULTIPART = "multipart/form-data"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)


def _text(description: str) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description)


def form(fields: Mapping[str, Schema], required: tuple[str, ...], description: str) -> RequestBody:
    """A multipart form with these fields (a file is a ``BINARY`` field)."""
    schema = Schema(
        type=OpenAPIType.OBJECT, properties=dict(fields), required=list(required) or None
    )
    return RequestBody(
        content={MULTIPART: OpenAPIMediaType(schema=schema)},
        description=description,
        required=True,
    )


def raw_file(media_types: tuple[str, ...], description: str) -> RequestBody:
    """A body that is the file itself, in one of these media types."""
    return RequestBody(
        content={media: OpenAPIMediaType(schema=BINARY) for media in media_types},
        description=description,
        required=True,
    )


def operation_with(body: RequestBody) -> type[Operation]:
    """An Operation class that documents ``body`` as the request body."""

    @dataclasses.dataclass
    class WithBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = body

    return WithBody


RECEIPT_UPLOAD = operation_with(
    form(
        {
            "file": BINARY,
            "receiptId": Schema(
                type=OpenAPIType.STRING,
                format=OpenAPIFormat.UUID,
                description="Client-generated id of the receipt (a retry sends the same)",
            ),
        },
        ("file",),
        "One receipt image (JPEG, PNG or WebP), as wx.uploadFile sends it",
    )
)
PRESIGNED_UPLOAD = operation_with(
    form(
        {
            "key": _text("`fields.key` of the presigned form"),
            "policy": _text("`fields.policy` of the presigned form"),
            "signature": _text("`fields.signature` of the presigned form"),
            "file": BINARY,
        },
        ("key", "policy", "signature", "file"),
        "The presigned form's fields, then the file (SKU images, receipts)",
    )
)
PRICE_FILE = operation_with(
    raw_file((XLSX, "text/csv"), "The price file itself (.xlsx or UTF-8 .csv) as the body")
)
