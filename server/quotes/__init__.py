"""CPQ quotes (报价): priced snapshots with expiry and HQ approval above tier thresholds.

Above price lists, below orders. Other domains use:

    convert_for_order(session, actor, quote_id, now) -> Quote    accepted, not expired; converted
    quote_pdf(session, quote_id, now, timezone) -> bytes
"""

from server.quotes.models import QuoteStatus
from server.quotes.pdf import quote_pdf
from server.quotes.service import convert_for_order, get_quote, quote_out

__all__ = ["QuoteStatus", "convert_for_order", "get_quote", "quote_out", "quote_pdf"]
