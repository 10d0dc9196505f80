"""The node's HTTP API (FastAPI): ``create_app(settings)``."""
