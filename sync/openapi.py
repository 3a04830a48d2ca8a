"""The sync endpoints in the OpenAPI document: request bodies and the mutation union.

Pull, push and ack decode their bodies themselves (JSON or MessagePack), so Litestar cannot
see their request types; each handler gets an ``operation_class`` that states its body. The
push body is a union of one struct per registered mutation, told apart by ``name`` (a
discriminator), each with its own ``args`` schema, built from the registry the app serves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Union

import msgspec
from litestar.openapi.spec import (
    Discriminator,
    OpenAPIMediaType,
    Operation,
    RequestBody,
    Schema,
)

from sync.registry import MutationRegistry
from sync.schemas import AckRequest, PullRequest

__all__ = ["SYNC_MEDIA_TYPES", "json_schema", "mutation_union", "operation_with_body"]

SYNC_MEDIA_TYPES = ("application/json", "application/msgpack")
# JSON Schema keyword -> the field of Litestar's Schema that carries it.
_FIELDS = {f.metadata.get("alias", f.name): f.name for f in dataclasses.fields(Schema)}
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMA_ONE = frozenset({"items", "not", "propertyNames", "contains"})


def _convert(node: dict[str, Any], defs: dict[str, Any]) -> Schema:
    ref = node.get("$ref")
    if isinstance(ref, str):
        return _convert(defs[ref.rsplit("/", 1)[1]], defs)
    values: dict[str, Any] = {}
    for key, value in node.items():
        if key in _FIELDS:
            values[_FIELDS[key]] = _converted(key, value, defs)
    if "any_of" in values and "discriminator" in values:
        values["one_of"] = values.pop("any_of")  # a tagged union: exactly one member matches
    return Schema(**values)


def _converted(key: str, value: Any, defs: dict[str, Any]) -> Any:
    if key in _SCHEMA_LISTS:
        return [_convert(item, defs) for item in value]
    if key in _SCHEMA_ONE or (key == "additionalProperties" and value not in (True, False)):
        return _convert(value, defs)
    if key == "properties":
        return {name: _convert(item, defs) for name, item in value.items()}
    if key == "discriminator":
        return Discriminator(property_name=value["propertyName"])
    return value


def json_schema(body_type: Any) -> Schema:
    """``body_type``'s JSON Schema (from msgspec), inlined, as a Litestar OpenAPI schema."""
    (schema,), defs = msgspec.json.schema_components([body_type], ref_template="#/$defs/{name}")
    return _convert(schema, defs)


def _struct_name(mutation: str) -> str:
    return "".join(part.title() for part in mutation.replace(".", "_").split("_")) + "Mutation"


def mutation_union(registry: MutationRegistry) -> Any:
    """The push body with one struct per registered mutation, discriminated by ``name``."""
    members = tuple(
        msgspec.defstruct(
            _struct_name(name),
            [
                ("mid", int),
                ("args", registered.args_type),
                ("business_key", Union[str, None], None),  # noqa: UP007 (a runtime type)
            ],
            kw_only=True,
            rename="camel",
            forbid_unknown_fields=True,
            tag_field="name",
            tag=name,
        )
        for name in registry.names()
        if (registered := registry.get(name)) is not None
    )
    mutation: Any = Union[members] if members else msgspec.Raw  # noqa: UP007
    return msgspec.defstruct(
        "PushRequest",
        [("client_id", str), ("mutations", list[mutation]), ("protocol", Union[int, None], None)],  # noqa: UP007
        kw_only=True,
        rename="camel",
        forbid_unknown_fields=True,
    )


def operation_with_body(body: Callable[[], Schema], description: str) -> type[Operation]:
    """An Operation class whose request body is ``body()`` in JSON or MessagePack."""

    @dataclasses.dataclass
    class WithBody(Operation):
        def __post_init__(self) -> None:
            schema = body()
            self.request_body = RequestBody(
                content={media: OpenAPIMediaType(schema=schema) for media in SYNC_MEDIA_TYPES},
                description=description,
                required=True,
            )

    return WithBody


def pull_body() -> Schema:
    """The pull request's schema."""
    return json_schema(PullRequest)


def ack_body() -> Schema:
    """The ack request's schema."""
    return json_schema(AckRequest)
