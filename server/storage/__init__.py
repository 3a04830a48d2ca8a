"""Object storage for receipts and images: a local directory or any S3 API.

ObjectStorage                 the protocol domains use
create_storage(settings, ...) the backend the settings name
PresignedPost, sniff_content_type, validate_key
"""

from server.storage.backends import (
    ObjectStorage,
    PresignedPost,
    create_storage,
    sniff_content_type,
    validate_key,
)

__all__ = ["ObjectStorage", "PresignedPost", "create_storage", "sniff_content_type", "validate_key"]
