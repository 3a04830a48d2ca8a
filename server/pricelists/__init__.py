"""Price lists (价目表): drafts, published versions, imports; loads ``server.pricing`` contexts."""
