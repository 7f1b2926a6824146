"""cpu hardware model (work in progress: registers nothing yet)."""
