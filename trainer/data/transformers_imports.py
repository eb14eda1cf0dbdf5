"""transformers imported once, quickly, and safely from two threads.

**One lock.** `trainer train` loads the tokenizer in its fetch thread while the main thread imports transformers'
TF side (`verbs.train`). transformers resolves its names lazily (`_LazyModule`), and two threads resolving them
at once can meet a module the other has half initialized. Measured here (transformers 4.54): when the tokenizer
loaded while the main thread imported, `from ..models.bert import BertTokenizer` in transformers' data collator
failed with ImportError in 3 trainer runs of 5 (and in 5 runs of 15 of this module's unit test without the lock).
That happens in production whenever the model's download outlasts `import tensorflow` (a large model, a slow
bucket). Both threads hold `IMPORTS` while they make transformers import its modules; the same race is reported
against transformers 5 (vectorize-io/hindsight#994).

**One scan.** transformers 4.x lists what each of its ~380 model folders exports by reading every file: once when
`transformers` is imported, then again when `transformers.models` is, because the cache meant to keep the first
scan holds 128 folders. The second scan took 0.25 s of every start (2 cores), on the trainer's critical path.
Importing transformers through this module answers the second from the first (upstream sped the scan up in 5.x,
#44253).
"""

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import transformers

IMPORTS = threading.RLock()
"""Held around everything that makes transformers import its modules (loading a tokenizer or a model class)."""

ImportStructure = dict[frozenset[str], dict[str, set[str]]]


def models_structure(package_structure: ImportStructure) -> ImportStructure:
    """`transformers.models`' import structure, from the one `transformers` built with the prefix `models.`."""
    prefix = "models."
    return {
        backends: {
            name.removeprefix(prefix): set(names)
            for name, names in modules.items()
            if name.startswith(prefix)
        }
        for backends, modules in package_structure.items()
    }


def reuse_models_scan() -> None:
    """Make `transformers.models` take its import structure from the package's scan; nothing to do once
    transformers.models is imported (it has scanned), or in a transformers without this scan."""
    from transformers.utils import import_utils

    scan: Callable[..., Any] | None = getattr(import_utils, "define_import_structure", None)
    if "transformers.models" in sys.modules or scan is None:
        return
    models_dir = Path(transformers.__file__).parent / "models"
    models_init = models_dir / "__init__.py"

    def define_import_structure(module_path: Any, prefix: str | None = None) -> Any:
        if prefix is None and Path(module_path) == models_init:
            return models_structure(scan(models_dir, prefix="models"))  # transformers/__init__'s call: cached
        return scan(module_path, prefix)

    import_utils.define_import_structure = define_import_structure


reuse_models_scan()
