"""CPQ quotes (报价): priced snapshots with expiry and HQ approval above tier thresholds."""
