"""Notifications: WeChat subscription messages (订阅消息) and the in-app inbox.

Sits above identity (it reads users' WeChat openids through identity's service) and below
every domain that has something to tell. What the rest of the server may call:

    notify(session, kind, key, *, dealer_ids=(), user_ids=(), params=None) -> event id | None
        in the caller's transaction: one event per (kind, key); an inbox item per dealer
        (sync scope ``dealer:{id}``); after the commit a job sends one WeChat message per
        user who accepted a template for ``kind`` (the users of each dealer, and ``user_ids``)
    note_event(session, kind, key, ...)     the same for code that cannot await: told just
                                           before the commit (install_notifications(database))
    EventKind, PARAMS                      the kinds and the parameters each one carries
    WechatMessaging(settings.wechat, database, redis_url)   the process's WeChat sender
    register_notification_jobs(registry, sender, timezone)  the fan-out and send jobs
    register_inbox_mutations(registry)             the offline ``inbox.read`` mutation
"""

from server.notifications.delivery import register_notification_jobs
from server.notifications.events import install_notifications, note_event, notify
from server.notifications.kinds import PARAMS, EventKind
from server.notifications.mutations import register_inbox_mutations
from server.notifications.wechat import WechatMessaging

__all__ = [
    "PARAMS",
    "EventKind",
    "WechatMessaging",
    "install_notifications",
    "note_event",
    "notify",
    "register_inbox_mutations",
    "register_notification_jobs",
]
