"""Measurements: pure functions of a model, data and targets, each giving one quantity."""
