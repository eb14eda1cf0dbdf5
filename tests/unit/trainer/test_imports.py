"""What the launcher and quick commands import loads no TensorFlow (nor transformers), checked in a fresh process."""

import json
import subprocess
import sys
from pathlib import Path

TRAINER = Path(__file__).resolve().parents[3] / "trainer"

TF_FREE = (
    "trainer",
    "trainer.contract.container",
    "trainer.contract.exit_codes",
    "trainer.contract.workers",
    "trainer.contract.progress",
    "trainer.contract.redaction",
    "trainer.settings.parse",
    "trainer.settings.train",
    "trainer.settings.verbs",
    "trainer.data.labels",
    "trainer.distribute.cluster",
    "trainer.distribute.plan",
    "trainer.distribute.precision",
    "trainer.outputs.run_record",
    "trainer.outputs.redaction",
    "trainer.verbs.scope",
)


def test_the_tf_free_modules_load_no_tensorflow() -> None:
    script = f"import json, sys\nimport {', '.join(TF_FREE)}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert set(TF_FREE) <= loaded
    heavy = {"tensorflow", "tf_keras", "keras", "transformers"}
    assert not {module.split(".")[0] for module in loaded} & heavy


def test_train_starts_fetching_its_inputs_before_tensorflow_loads() -> None:
    """`trainer train` imports TensorFlow only once the model and data are on their way (`verbs.train_start`)."""
    script = "import json, sys\nimport trainer.cli, trainer.verbs.train_start\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert not {module.split(".")[0] for module in json.loads(out)} & {"tensorflow", "tf_keras", "keras"}


def test_the_trainer_loads_datasets_only_for_the_inputs_that_need_it() -> None:
    """Every module a CSV or Parquet run goes through loads without `datasets` (about 3 s of imports); reading such
    files does not load it either (tests/unit/trainer/data/test_sources.py)."""
    every = [
        f"trainer.{path.relative_to(TRAINER).with_suffix('').as_posix().replace('/', '.')}"
        for path in sorted(TRAINER.rglob("*.py"))
        if path.name != "__init__.py" and path.name != "__main__.py"
    ]
    script = f"import json, sys\nimport {', '.join(every)}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    loaded = {module.split(".")[0] for module in json.loads(out)}
    assert "trainer" in loaded and "datasets" not in loaded
