"""Announcements (公告): HQ's notices to all dealers, tiers, regions or named dealers.

Above dealers and regions (it reads their facts), below replication (which subscribes
dealers to its scopes). Other domains and the faces use:

    create_announcement / publish_announcement / withdraw_announcement   HQ's lifecycle
    presign_attachment(session, storage, id, body)   an attachment's presigned upload form
    attachment_link(storage, announcement, attachment_id) -> url
    announcement_published(session, announcement)    the hook for notifications (one call)
    dealer_announcements / dealer_announcement / mark_read   what a dealer sees and reads
    read_report(session, id)                         who has read it
    audience_of(session, announcement) -> {dealer id}   every active dealer it is for
    notice_scopes(tier, region_codes)                a dealer's announcement scopes
"""

from server.announcements.attachments import attachment_link, presign_attachment
from server.announcements.audience import notice_scopes
from server.announcements.models import AnnouncementStatus, Audience
from server.announcements.reads import (
    audience_of,
    dealer_announcement,
    dealer_announcements,
    mark_read,
    read_report,
)
from server.announcements.service import (
    announcement_out,
    announcement_published,
    create_announcement,
    get_announcement,
    list_announcements,
    notice_out,
    publish_announcement,
    withdraw_announcement,
)

__all__ = [
    "AnnouncementStatus",
    "Audience",
    "announcement_out",
    "announcement_published",
    "attachment_link",
    "audience_of",
    "create_announcement",
    "dealer_announcement",
    "dealer_announcements",
    "get_announcement",
    "list_announcements",
    "mark_read",
    "notice_out",
    "notice_scopes",
    "presign_attachment",
    "publish_announcement",
    "read_report",
    "withdraw_announcement",
]
