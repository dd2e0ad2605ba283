"""Load tests: drive the embedded pipeline at a target rate (run), turn the figures into a report (report)."""
