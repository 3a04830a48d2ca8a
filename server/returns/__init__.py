"""Returns (退货): a dealer returns shipped goods, HQ decides, the warehouse receives, money
follows. Near the top of the server's layers: returns call orders (``server.orders.
returnable``), accounts, inventory and the trail through their functions; only replication
and the composition root import returns.

    create_return(session, storage, actor, body, now) -> (ReturnRequest, created)
    decide_return(session, actor, return_id, approve=, comment=, now=) -> ReturnRequest
    receive_return(session, actor, return_id, disposition, now) -> ReturnRequest
    list_returns / get_return / return_out                 reading (dealer scoping applies)
    window_days / set_window_days                          HQ's return window
    presign_photo(storage, actor, body) -> PhotoPresignOut photos before the request
    register_return_mutations(registry, storage)           ``return.create`` for offline clients
"""

from server.returns.decisions import decide_return
from server.returns.models import Disposition, ReturnStatus
from server.returns.mutations import register_return_mutations
from server.returns.photos import presign_photo
from server.returns.presenter import return_out
from server.returns.queries import get_return, list_returns, set_window_days, window_days
from server.returns.receiving import receive_return
from server.returns.requests import create_return

__all__ = [
    "Disposition",
    "ReturnStatus",
    "create_return",
    "decide_return",
    "get_return",
    "list_returns",
    "presign_photo",
    "receive_return",
    "register_return_mutations",
    "return_out",
    "set_window_days",
    "window_days",
]
