"""jax frontend (work in progress: registers nothing yet)."""
