"""Model: build and compile the classifier (loss from logits, AdamW with warmup), run it for logits, and export
it for serving."""
