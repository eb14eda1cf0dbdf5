"""Distribution: who the workers are (TF_CONFIG), how they meet, which strategy runs and this process's place in
it, the container's memory limit, and the run's plan: every number resolved once (replicas, global batch, steps
per epoch, padding, XLA buckets, in-memory choice, max length)."""
