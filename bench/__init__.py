"""Benchmarks for the recognition engine (`make bench`); data from ../shared/facedata, never copied here."""
