"""Scan resolution: raw scanner text -> typed Scan (DESIGN §4)."""
