"""Settings: every verb's typed options (flags and `TRAINER_*` variables), grouped the way Hugging Face groups
its arguments. TF-free: the launcher imports these to check trainer arguments before it submits a Job."""
