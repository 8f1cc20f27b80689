"""envdeck: a terminal dashboard for local Docker Compose integration environments."""

__version__ = "0.1.0"
