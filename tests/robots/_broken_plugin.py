"""A plugin module that fails at import, like a driver whose SDK is missing (used by the discovery test)."""

raise RuntimeError("driver SDK not installed")
