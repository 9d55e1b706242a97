"""Scanner and printer drivers: raw scans in, bytes out. Knows nothing of the database."""
