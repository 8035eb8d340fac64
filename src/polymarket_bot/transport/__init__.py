"""transport layer (see docs/ARCHITECTURE.md)."""
