"""Claims (费用核销 / 促销核销): receipts read by OCR, checked, approved, paid once.

create_claim, attach_receipt, presign_receipt, submit_claim, cancel_claim
approve_claim, reject_claim (HQ)
register_claim_jobs(registry, storage, reader)      the ``claims.scan`` OCR job
register_claim_mutations(registry, storage)         offline ``claim.*`` mutations
"""

from server.claims.models import ClaimStatus
from server.claims.mutations import register_claim_mutations
from server.claims.scanning import ReceiptReader, read_receipt, register_claim_jobs

__all__ = [
    "ClaimStatus",
    "ReceiptReader",
    "read_receipt",
    "register_claim_jobs",
    "register_claim_mutations",
]
