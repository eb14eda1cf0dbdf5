"""The start of `trainer train`, without TensorFlow: the inputs are fetched while TensorFlow loads.

Importing TensorFlow takes seconds; fetching the base model and the data from object storage and tokenizing them
needs no TensorFlow. So, once the output is known not to hold a completed run, a background thread runs
`data.prepare` (download, tokenizer, labels, eval split, token files: `verbs.fetching`) while the main thread
loads TensorFlow, splits the CPU (--cpu-replicas) and hands over to `verbs.train`, which takes the prepared inputs
when it needs them: after building the strategy (MultiWorkerMirroredStrategy must come before any other
TensorFlow op, and the thread runs none). The thread may still be loading the tokenizer when the main thread imports
transformers' TF classes: both hold `transformers_imports.IMPORTS` meanwhile.
"""

from types import ModuleType

from trainer.data.prepare import TrainingInputs
from trainer.data.transformers_imports import IMPORTS
from trainer.distribute.startup import load_tensorflow
from trainer.outputs.timing import Timeline
from trainer.settings.train import TrainSettings
from trainer.storage import Storage
from trainer.verbs.fetching import Fetching
from trainer.verbs.scope import Scope, VerbFrame


def run(settings: TrainSettings, storage: Storage | None = None) -> int:
    """Train, evaluate and publish; returns the process exit code (0, also when the output is already complete)."""
    timeline = Timeline()
    frame = VerbFrame(settings, storage, what="a completed run", work_prefix="run-")
    inputs = TrainingInputs.parse(settings)
    return frame.run(lambda scope: _start(settings, scope, inputs, timeline))


def _start(settings: TrainSettings, scope: Scope, inputs: TrainingInputs, timeline: Timeline) -> None:
    fetching = Fetching(settings, scope, inputs)
    load_tensorflow()
    from trainer.distribute.strategy import configure_devices

    configure_devices(settings.cpu_replicas)
    timeline.mark("tensorflow_loaded")
    import_training().train(settings, scope, fetching, timeline)


def import_training() -> ModuleType:
    """`verbs.train`: TensorFlow's side of the run (tf_keras, transformers' TF classes), imported holding
    `IMPORTS`, as the fetch thread loads the tokenizer."""
    with IMPORTS:
        from trainer.verbs import train
    return train
