"""The `trainer` command: parse a verb's settings, run it, and map errors to one line and an exit code.

This is the only module that prints errors and chooses exit codes. It imports TensorFlow only after the settings
parsed, so `trainer --help` and bad flags answer at once.
"""

import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import CliApp, SettingsError

from trainer.contract.container import SETTINGS_ENV_PREFIX
from trainer.contract.exit_codes import DESCRIPTIONS, ExitCode
from trainer.contract.version import describe
from trainer.distribute.startup import load_tensorflow
from trainer.errors import TrainerError
from trainer.settings.train import TrainSettings
from trainer.settings.verbs import EvaluateSettings, ExportSettings, PredictSettings

log = logging.getLogger("trainer")

TERMINATION_LOG = Path("/dev/termination-log")
"""Kubernetes shows this file's content as the container's termination message (`kubectl describe pod`)."""


def _run_train(settings: TrainSettings) -> int:
    from trainer.distribute.strategy import configure_devices
    from trainer.verbs import train

    configure_devices(settings.cpu_replicas)
    return train.run(settings)


def _run_evaluate(settings: EvaluateSettings) -> int:
    from trainer.verbs import (
        evaluate,  # splits the CPU (--cpu-replicas) itself, once the inputs proved usable
    )

    return evaluate.run(settings)


def _run_predict(settings: PredictSettings) -> int:
    from trainer.verbs import predict  # splits the CPU (--cpu-replicas) itself, once the inputs proved usable

    return predict.run(settings)


def _run_export(settings: ExportSettings) -> int:
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


def _validation_message(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        flag = f"--{field.replace('_', '-')} ({SETTINGS_ENV_PREFIX}{field.upper()})" if field else "settings"
        if item["type"] == "missing":
            parts.append(f"{flag} is required")
        else:
            given = item.get("input")
            shown = f" (got {given!r})" if given is not None and not isinstance(given, dict) else ""
            parts.append(f"{flag}: {item['msg'].removeprefix('Value error, ')}{shown}")
    return "; ".join(parts)


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


def _fail(message: str, code: ExitCode) -> int:
    line = f"trainer: error: {message}"
    print(line, file=sys.stderr)
    try:
        if TERMINATION_LOG.parent.is_dir() and os.access(TERMINATION_LOG.parent, os.W_OK):
            TERMINATION_LOG.write_text(f"exit {int(code)}: {message}\n")
    except OSError:
        pass
    return int(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage(), end="")
        return 0 if args else int(ExitCode.USAGE)
    if args[0] in ("-V", "--version"):
        print(describe("trainer"))
        return 0
    verb, rest = args[0], args[1:]
    if verb not in VERBS:
        return _fail(f"unknown verb '{verb}'; choose one of: {', '.join(VERBS)}", ExitCode.USAGE)
    settings_type, handler, _summary = VERBS[verb]
    try:
        settings = CliApp.run(settings_type, cli_args=rest)
    except ValidationError as e:
        return _fail(_validation_message(e), ExitCode.USAGE)
    except SettingsError as e:
        return _fail(str(e).splitlines()[0], ExitCode.USAGE)
    _prepare_environment()
    _configure_logging()
    try:
        load_tensorflow()
        return handler(settings)
    except TrainerError as e:
        return _fail(str(e), e.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted", ExitCode.RETRYABLE)
