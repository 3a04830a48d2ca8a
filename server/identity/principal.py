"""Who is calling: the principal decoded from an access token."""

from __future__ import annotations

import uuid

import msgspec

from server.identity.models import DEALER_ROLES, HQ_ROLES, Role


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    role: Role
    dealer_id: uuid.UUID | None = None
    token_id: str = ""

    @property
    def is_hq(self) -> bool:
        return self.role in HQ_ROLES

    @property
    def is_dealer(self) -> bool:
        return self.role in DEALER_ROLES

    @property
    def is_rep(self) -> bool:
        return self.role is Role.REP


def dealer_principal(subject_id: str, dealer_id: str | None, role: str | None) -> Principal | None:
    """The dealer user behind a sync push (its token's role; staff for any other), else None."""
    if not dealer_id:
        return None
    kind = Role(role) if role in DEALER_ROLES else Role.DEALER_STAFF
    return Principal(user_id=uuid.UUID(subject_id), role=kind, dealer_id=uuid.UUID(dealer_id))
