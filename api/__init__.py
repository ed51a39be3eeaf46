"""The HTTP service (FastAPI). It depends on ``analyzer``, never the reverse."""
