"""Logship: what the agent, the collector and the workers share (wire format, records, config)."""

__version__ = "0.1.0"
