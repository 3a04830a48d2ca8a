"""The HQ console: server-rendered web pages at ``/console`` for headquarters.

A face, like ``mini_program_api``: pages call the server's service functions and hold no SQL
and no business rules of their own. Signed-in HQ users (operators and admins) hold a
server-side session behind an HttpOnly cookie; every form post carries a CSRF token.

console_router(settings)   the ``/console`` router (pages, sign-in, static assets)
console_templates()        the Jinja template configuration the app needs
console_stores(settings)   the session store the router's middleware reads
"""

from console.app import console_router, console_stores, console_templates

__all__ = ["console_router", "console_stores", "console_templates"]
