"""Helpers shared by tests, benchmarks and `make demo`: loopback S3 servers, toy data, tiny models."""
