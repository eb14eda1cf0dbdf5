"""Fine-tune Hugging Face Transformer text classifiers with TensorFlow/Keras, data and artifacts in object storage.

Rooms, in the order a run meets them: `cli` (parse a verb, run it, map errors to exit codes), `settings`, `verbs`
(each command's orchestration), `storage`, `data`, `pipeline` (tf.data), `distribute`, `model`, `training`,
`outputs`; `errors` and `contract` (what the launcher shares) serve them all.

Importing this package imports no TensorFlow: the heavy modules are imported by the verbs that need them.
"""

__version__ = "0.1.0"
