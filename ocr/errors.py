"""Errors raised by the receipt reader, each with a stable machine code.

OcrError
├── ImageError                      the bytes are not a usable receipt image
│   ├── ImageEmpty                  image_empty
│   ├── ImageFormatUnsupported      image_format_unsupported
│   ├── ImageTooLarge               image_too_large
│   ├── ImageTruncated              image_truncated
│   ├── ImageTooSmall               image_too_small
│   └── ImageUnreadable             image_unreadable
└── EngineError                     the OCR engine cannot run
    ├── EngineUnavailable           engine_unavailable
    └── EngineFailed                engine_failed
"""

from __future__ import annotations

from typing import ClassVar


class OcrError(Exception):
    """Base of every error raised by `ocr`; `code` is stable and machine-readable."""

    code: ClassVar[str] = "ocr_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImageError(OcrError):
    """The input bytes are not an image the reader accepts."""

    code: ClassVar[str] = "image_invalid"


class ImageEmpty(ImageError):
    """Zero bytes were given."""

    code: ClassVar[str] = "image_empty"


class ImageFormatUnsupported(ImageError):
    """The bytes are not one of the allowed image formats (HTML, PDF, ...)."""

    code: ClassVar[str] = "image_format_unsupported"


class ImageTooLarge(ImageError):
    """Too many bytes or pixels (includes decompression bombs)."""

    code: ClassVar[str] = "image_too_large"


class ImageTruncated(ImageError):
    """The image data ends early or is corrupt."""

    code: ClassVar[str] = "image_truncated"


class ImageTooSmall(ImageError):
    """The image is too small to hold readable text."""

    code: ClassVar[str] = "image_too_small"


class ImageUnreadable(ImageError):
    """The image could not be decoded for another reason."""

    code: ClassVar[str] = "image_unreadable"


class EngineError(OcrError):
    """The OCR engine could not run."""

    code: ClassVar[str] = "engine_error"


class EngineUnavailable(EngineError):
    """The engine's package or model files are missing."""

    code: ClassVar[str] = "engine_unavailable"


class EngineFailed(EngineError):
    """The engine raised while reading an image."""

    code: ClassVar[str] = "engine_failed"
