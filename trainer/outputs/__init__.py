"""Outputs: what a run publishes and what it says: the layout and the `_SUCCESS` rule, the metrics and the
metrics.json documents, reports (plots, TensorBoard), predictions, the run record (run.json) and the timeline."""
