"""Small, readable models."""
