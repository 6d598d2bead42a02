"""Synthetic data generators. Nothing is downloaded: every data set is drawn from a generator."""
