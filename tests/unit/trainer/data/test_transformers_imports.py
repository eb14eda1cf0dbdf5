"""transformers imported once (one scan of its model folders) and safely from the fetch thread and the main thread;
each check in a fresh interpreter, where transformers is not imported yet."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trainer.data.transformers_imports import models_structure

REPO = Path(__file__).resolve().parents[4]


def run_fresh(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        timeout=300,
    )


def test_models_structure_keeps_the_model_folders_entries_without_their_prefix() -> None:
    package = {
        frozenset(): {
            "models.bert.configuration_bert": {"BertConfig"},
            "configuration_utils": {"PretrainedConfig"},
        },
        frozenset({"tf"}): {"models.bert.modeling_tf_bert": {"TFBertModel"}},
    }
    assert models_structure(package) == {
        frozenset(): {"bert.configuration_bert": {"BertConfig"}},
        frozenset({"tf"}): {"bert.modeling_tf_bert": {"TFBertModel"}},
    }


SCAN_ONCE = """
import json
import trainer.data.transformers_imports
from transformers.utils import import_utils

scans = import_utils.create_import_structure_from_path.cache_info().misses
import transformers.models
rescanned = import_utils.create_import_structure_from_path.cache_info().misses - scans

models = transformers.models.__file__
ours = import_utils.define_import_structure(models)
theirs = import_utils.spread_import_structure(import_utils.create_import_structure_from_path(models))
same = {str(sorted(b)): {m: sorted(n) for m, n in v.items()} for b, v in ours.items()} == {
    str(sorted(b)): {m: sorted(n) for m, n in v.items()} for b, v in theirs.items()
}
from transformers import AutoTokenizer, TFAutoModelForSequenceClassification
print(json.dumps({"rescanned": rescanned, "same": same, "modules": len(ours[frozenset()])}))
"""


def test_transformers_models_reuses_the_package_scan_and_lists_the_same_modules() -> None:
    result = run_fresh(SCAN_ONCE)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["rescanned"] == 0  # without the shortcut: one miss per model folder, about 380
    assert report["same"] and report["modules"] > 300


RACE = """
import sys, threading
import tensorflow  # as in `trainer train`: the main thread imports transformers' TF side after TensorFlow
from trainer.data.fetch import load_tokenizer
from trainer.verbs import train_start  # the main thread's imports before TensorFlow

ready = threading.Barrier(2)
failures = []

def fetch():
    ready.wait()
    try:
        load_tokenizer(sys.argv[1])
    except Exception as e:
        failures.append(repr(e))

thread = threading.Thread(target=fetch)
thread.start()
ready.wait()
train_start.import_training()
thread.join()
print("failures:", failures)
sys.exit(1 if failures else 0)
"""


@pytest.mark.parametrize("attempt", range(4))
def test_the_tokenizer_loads_while_the_main_thread_imports_the_tf_side(tiny_bert: Path, attempt: int) -> None:
    """Without the lock a run failed with ImportError 5 times in 15, and all 4 attempts passed only once in 5 tries."""
    result = run_fresh(RACE, str(tiny_bert))
    assert result.returncode == 0, result.stdout[-1000:] + result.stderr[-3000:]
