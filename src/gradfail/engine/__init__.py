"""One training engine: many independent small models trained as one batched model."""
