"""Experiment functions: the computations behind the claims and the figures, shared by both."""
