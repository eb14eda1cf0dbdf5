"""Data: fetch the model and the data shards, read tables chunk by chunk, map labels, tokenize once into token
files. No TensorFlow."""
