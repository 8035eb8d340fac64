"""strategies layer (see docs/ARCHITECTURE.md)."""
