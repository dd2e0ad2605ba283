"""Faust processors: event-time aggregation, indicators and alerts."""
