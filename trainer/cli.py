"""The `trainer` command: parse a verb's settings, run it, and map errors to one line and an exit code.

This is the only module that prints errors and chooses exit codes. TensorFlow is loaded only after the settings
parsed, so `trainer --help` and bad flags answer at once; `train` loads it itself, while its inputs are fetched
(`verbs.train_start`).
"""

import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from trainer.contract.exit_codes import DESCRIPTIONS, ExitCode
from trainer.contract.version import describe
from trainer.distribute.startup import load_tensorflow
from trainer.errors import TrainerError
from trainer.outputs.redaction import redacted_output, scrub
from trainer.settings.parse import InvalidSettings, parse
from trainer.settings.train import TrainSettings
from trainer.settings.verbs import EvaluateSettings, ExportSettings, PredictSettings

log = logging.getLogger("trainer")

TERMINATION_LOG = Path("/dev/termination-log")
"""Kubernetes shows this file's content as the container's termination message (`kubectl describe pod`)."""
TERMINATION_LOG_ENV = "TERMINATION_MESSAGE_PATH"
"""Names another file, for a container whose `terminationMessagePath` is not the default (and for tests)."""


def _run_train(settings: TrainSettings) -> int:
    from trainer.verbs import train_start  # loads TensorFlow while the model and data are fetched

    return train_start.run(settings)


def _run_evaluate(settings: EvaluateSettings) -> int:
    load_tensorflow()
    from trainer.verbs import (
        evaluate,  # splits the CPU (--cpu-replicas) itself, once the inputs proved usable
    )

    return evaluate.run(settings)


def _run_predict(settings: PredictSettings) -> int:
    load_tensorflow()
    from trainer.verbs import predict  # splits the CPU (--cpu-replicas) itself, once the inputs proved usable

    return predict.run(settings)


def _run_export(settings: ExportSettings) -> int:
    load_tensorflow()
    from trainer.verbs import export

    return export.run(settings)


VERBS: dict[str, tuple[type[Any], Callable[[Any], int], str]] = {
    "train": (
        TrainSettings,
        _run_train,
        "Fine-tune a pretrained Transformer classifier and publish the artifacts.",
    ),
    "evaluate": (
        EvaluateSettings,
        _run_evaluate,
        "Measure a trained model on labelled data: metrics.json and confusion_matrix.png.",
    ),
    "predict": (
        PredictSettings,
        _run_predict,
        "Classify every row of a file or prefix of any size, streamed; JSON Lines out, in input order.",
    ),
    "export": (
        ExportSettings,
        _run_export,
        "Write a TensorFlow SavedModel with a serving signature, tokenizer files beside it.",
    ),
}


def _usage() -> str:
    verbs = "\n".join(f"  {name:<10} {summary}" for name, (_, _, summary) in VERBS.items())
    codes = "\n".join(f"  {int(code):<3} {text}" for code, text in DESCRIPTIONS.items())
    return (
        "usage: trainer <verb> [options]   (trainer <verb> --help for its options)\n"
        "       trainer --version          (the package version and the commit it was built from)\n\n"
        f"verbs:\n{verbs}\n\nexit codes:\n{codes}\n"
    )


def _prepare_environment() -> None:
    """Keras 2 for transformers' TF classes, and quiet C++ logs; set only if the user has not chosen."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")


def _configure_logging() -> None:
    """Our INFO lines; TensorFlow's and other libraries' chatter only from WARNING up."""
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        stream=sys.stderr,
    )
    log.setLevel(logging.INFO)


def termination_log() -> Path:
    return Path(os.environ.get(TERMINATION_LOG_ENV) or TERMINATION_LOG)


def _fail(message: str, code: ExitCode) -> int:
    """One line on stderr and, in a pod, the termination message; secrets masked in both."""
    message = scrub(message)
    print(f"trainer: error: {message}", file=sys.stderr)
    path = termination_log()
    try:
        if path.parent.is_dir() and os.access(path.parent, os.W_OK):
            path.write_text(f"exit {int(code)}: {message}\n")
    except OSError:
        pass
    return int(code)


def main(argv: Sequence[str] | None = None) -> int:
    with redacted_output():
        return _main(list(sys.argv[1:] if argv is None else argv))


def _main(args: list[str]) -> int:
    if args and args[0] in ("-h", "--help"):
        print(_usage(), end="")
        return 0
    if args and args[0] in ("-V", "--version"):
        print(describe("trainer"))
        return 0
    if not args or args[0] not in VERBS:
        given = f"unknown verb '{args[0]}'" if args else "no verb given"
        return _fail(f"{given}; choose one of: {', '.join(VERBS)} (see `trainer --help`)", ExitCode.USAGE)
    verb, rest = args[0], args[1:]
    handler = VERBS[verb][1]
    try:
        settings = parse(verb, rest)
    except InvalidSettings as e:
        return _fail(str(e), ExitCode.USAGE)
    _prepare_environment()
    _configure_logging()
    try:
        return handler(settings)
    except TrainerError as e:
        return _fail(str(e), e.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted", ExitCode.RETRYABLE)
