"""The console's query and path texts, under the rule every client text obeys
(``server.text``): a bounded length and no control characters. A page answers 400 otherwise."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import PathParameter, QueryParameter

from server.text import LINE_RULE

__all__ = ["VERSION", "Code", "QueryCode", "QueryText"]

QueryCode = Annotated[str, QueryParameter(max_length=64, pattern=LINE_RULE)]
"""A code, a status, a flag or a uuid typed into a filter."""
QueryText = Annotated[str, QueryParameter(max_length=256, pattern=LINE_RULE)]
"""A search, a cursor or a link back."""
Code = Annotated[str, PathParameter(max_length=64, pattern=LINE_RULE)]
"""A code in the path (a price list's, a static asset's name)."""
VERSION = msgspec.Meta(ge=0, le=2**63 - 1)
"""A row version or a sync version a form sends back (int64)."""
