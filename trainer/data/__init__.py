"""Data: fetch the base model, a trained artifact and the data shards; read tables chunk by chunk, map labels,
tokenize once into token files; make a training run's inputs ready (label map, evaluation split, sample limits).
No TensorFlow."""
