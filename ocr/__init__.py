"""Receipt OCR: image bytes in, structured receipt fields and a claim decision out.

Pure: no database, no web framework, nothing else of channelhub. The server runs
`scan_receipt` in a worker (thread or process pool, see `init_worker` and
`scan_receipt_async`), then `verify_receipt` against the claim's expectations.
"""

from ocr.arithmetic import TotalCheck, check_total
from ocr.decode import DecodeLimits, decode_image
from ocr.duplicates import (
    Finding,
    PriorReceipt,
    ReceiptKeys,
    compare,
    dated_after_upload,
    differing_fields,
    out_of_sequence,
    receipt_keys,
    same_merchant,
)
from ocr.engines import EngineName, OcrEngine, clear_engines, get_engine, write_paddle_model_dirs
from ocr.errors import (
    EngineError,
    EngineFailed,
    EngineUnavailable,
    ImageEmpty,
    ImageError,
    ImageFormatUnsupported,
    ImageTooLarge,
    ImageTooSmall,
    ImageTruncated,
    ImageUnreadable,
    OcrError,
)
from ocr.fingerprint import content_fingerprint, hash_distance, image_hash, is_same_image
from ocr.imagematch import ImageMatch, image_features, match_features
from ocr.matching import Product, SkuMatch, match_items
from ocr.receipt import LineItem, ReceiptFields, ReceiptScan, Row, TextLine
from ocr.scan import init_worker, scan_image, scan_receipt, scan_receipt_async, scan_to_json
from ocr.verify import ClaimDecision, ClaimExpectations, Reason, RequiredSku, verify_receipt

__all__ = [
    "ClaimDecision",
    "ClaimExpectations",
    "DecodeLimits",
    "EngineError",
    "EngineFailed",
    "EngineName",
    "EngineUnavailable",
    "Finding",
    "ImageEmpty",
    "ImageError",
    "ImageFormatUnsupported",
    "ImageMatch",
    "ImageTooLarge",
    "ImageTooSmall",
    "ImageTruncated",
    "ImageUnreadable",
    "LineItem",
    "OcrEngine",
    "OcrError",
    "PriorReceipt",
    "Product",
    "Reason",
    "ReceiptFields",
    "ReceiptKeys",
    "ReceiptScan",
    "RequiredSku",
    "Row",
    "SkuMatch",
    "TextLine",
    "TotalCheck",
    "check_total",
    "clear_engines",
    "compare",
    "content_fingerprint",
    "dated_after_upload",
    "decode_image",
    "differing_fields",
    "get_engine",
    "hash_distance",
    "image_features",
    "image_hash",
    "init_worker",
    "is_same_image",
    "match_features",
    "match_items",
    "out_of_sequence",
    "receipt_keys",
    "same_merchant",
    "scan_image",
    "scan_receipt",
    "scan_receipt_async",
    "scan_to_json",
    "verify_receipt",
    "write_paddle_model_dirs",
]
