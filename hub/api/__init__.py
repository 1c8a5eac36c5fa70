"""REST API v2 (Conferences i/o-compatible) at /api/v2: thin handlers."""
