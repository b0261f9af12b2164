"""CLI commands of the analysis capabilities; each module exposes ``register(app)``."""
