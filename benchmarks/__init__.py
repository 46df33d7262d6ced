"""Benchmarks of the pipeline: ``assistant bench`` runs :mod:`benchmarks.bench`; the folders hold
the reader and segmenter comparisons (see README.md)."""
