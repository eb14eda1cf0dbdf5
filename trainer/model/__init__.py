"""Model: build and compile the classifier (loss from logits, AdamW with warmup) or load a trained one, run it
for logits and the evaluation train and evaluate share, and export it for serving."""
