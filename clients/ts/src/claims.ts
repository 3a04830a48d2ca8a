/** Receipt photos for claims: the presigned form, then `wx.uploadFile` (or a multipart POST). */

import type { ApiClient } from "./api.js";
import { ApiError, parseProblem } from "./problem.js";

export interface ReceiptUpload {
  claimId: string;
  /** The receipt's id, made by the client (then `claim.attach_receipt` names it). */
  receiptId: string;
  /** A local file path (WeChat: from wx.chooseMedia). */
  filePath: string;
  contentType?: "image/jpeg" | "image/png" | "image/webp";
}

/**
 * Upload a receipt image with the presigned form the server hands out. Afterwards queue
 * `claim.attach_receipt` (`{claimId, receiptId, submit}`): that mutation is what attaches it.
 */
export async function uploadReceipt(api: ApiClient, upload: ReceiptUpload): Promise<void> {
  const form = await api.post("/mp/claims/{claim_id}/receipts/presign", {
    path: { claim_id: upload.claimId },
    body: { receiptId: upload.receiptId, contentType: upload.contentType ?? "image/jpeg" },
  });
  const answer = await api.http.transport.upload({
    url: form.url,
    filePath: upload.filePath,
    name: "file",
    formData: form.fields,
  });
  if (answer.status >= 300) {
    throw new ApiError(answer.status, parseProblem(answer.status, answer.body, "/storage/upload"));
  }
}
