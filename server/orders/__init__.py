"""Orders: placed from a cart or an accepted quote, approved, allocated, shipped, received.

place_order(session, cache, actor, body, ...) -> (Order, created)
transition services in ``server.orders.service``; sync mutations in ``mutations``.
"""
