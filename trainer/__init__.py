"""Fine-tune Hugging Face Transformer text classifiers with TensorFlow/Keras, data and artifacts in object storage.

Importing this package imports no TensorFlow: the heavy modules are imported by the verbs that need them.
"""

__version__ = "0.1.0"
