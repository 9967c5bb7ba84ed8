"""The intake API for other systems (the national citizen portal)."""
