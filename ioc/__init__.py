"""Nghệ An IOC shared core: settings, topics, event contract, city model, embedded broker and the CLI."""
