"""Outputs: what a run publishes (layout, metrics, reports, run record) and the order it is published in."""
