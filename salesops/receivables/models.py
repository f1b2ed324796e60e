"""Collections models."""
