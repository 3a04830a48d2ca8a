"""A dealer's ship-to addresses."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from server.dealers import addresses
from server.identity.guards import requires_dealer
from server.identity.principal import Principal


def _dealer(principal: Principal) -> uuid.UUID:
    assert principal.dealer_id is not None  # requires_dealer guarantees it
    return principal.dealer_id


class AddressController(Controller):
    path = "/mp/addresses"
    tags = ["mini-program: me"]
    guards = [requires_dealer]

    @get("/", summary="My ship-to addresses")
    async def list_(self, db_session: NamedDependency[AsyncSession]) -> list[addresses.AddressOut]:
        """The dealer's addresses, default first."""
        return [addresses.address_out(a) for a in await addresses.list_addresses(db_session)]

    @post("/", summary="Add a ship-to address")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[addresses.AddressIn],
    ) -> addresses.AddressOut:
        """Add an address; the first one becomes the default."""
        return addresses.address_out(
            await addresses.create_address(db_session, _dealer(principal), data)
        )

    @put("/{address_id:uuid}", summary="Change a ship-to address")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        address_id: FromPath[uuid.UUID],
        data: JSONBody[addresses.AddressUpdate],
    ) -> addresses.AddressOut:
        """Change the given fields of one of my addresses."""
        return addresses.address_out(
            await addresses.update_address(db_session, _dealer(principal), address_id, data)
        )

    @delete("/{address_id:uuid}", summary="Delete a ship-to address")
    async def remove(
        self, db_session: NamedDependency[AsyncSession], address_id: FromPath[uuid.UUID]
    ) -> None:
        """Delete one of my addresses."""
        await addresses.delete_address(db_session, address_id)
