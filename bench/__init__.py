"""Benchmarks for Nexus: `make bench` prints ratios against a baseline measured in the same run."""
