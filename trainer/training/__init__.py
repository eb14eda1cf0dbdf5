"""Training: the resumable `model.fit` loop, its Keras callbacks (progress, checkpoints, SIGTERM) and the
checkpoints in object storage."""
