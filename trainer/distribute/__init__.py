"""Distribution: who the workers are (TF_CONFIG), how they meet, which strategy runs, and the run's resolved plan
(replicas, global batch, steps)."""
