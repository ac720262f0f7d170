"""The status web service (FastAPI): auth, API, HTML page."""
