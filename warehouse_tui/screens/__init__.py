"""Textual screens: show the workflow's prompt and route scans to it. No SQL, no business rules."""
