"""Shared widgets: status line, prompt, feedback flash, key bar."""
