"""Identity: users, roles, logins and tokens, and who is calling (the principal).

The bottom domain beside regions (only audit is below it). Other domains use:

    Principal, Role, DEALER_ROLES, HQ_ROLES            who acts, in which role
    requires_login / requires_hq / requires_hq_admin / requires_dealer /
    requires_dealer_admin / requires_rep / requires_field   route guards
    current_principal(connection) -> Principal
    DealerStanding                                      what sign-in asks of the dealers
                                                        domain (passed in, never imported)
"""

from server.identity.guards import (
    current_principal,
    requires_dealer,
    requires_dealer_admin,
    requires_field,
    requires_hq,
    requires_hq_admin,
    requires_login,
    requires_rep,
)
from server.identity.models import DEALER_ROLES, HQ_ROLES, Role
from server.identity.principal import Principal
from server.identity.service import DealerStanding, get_user, user_out, wechat_recipients

__all__ = [
    "DEALER_ROLES",
    "HQ_ROLES",
    "DealerStanding",
    "Principal",
    "Role",
    "current_principal",
    "get_user",
    "requires_dealer",
    "requires_dealer_admin",
    "requires_field",
    "requires_hq",
    "requires_hq_admin",
    "requires_login",
    "requires_rep",
    "user_out",
    "wechat_recipients",
]
