"""Toy data the 🤗 Datasets ways users keep it: save_to_disk folders (plain, pre-tokenized) and a local dataset
repository that `datasets.load_dataset` reads like a Hub one. Built with `datasets` itself, as users build them."""

from pathlib import Path
from typing import Any

from support.toy_data import TOPICS, sentences, write_csv

NAMES = sorted(TOPICS)
"""The toy topics; as a ClassLabel, declared in this order."""


def _rows(n: int, seed: int, *, unlabelled: bool = False) -> dict[str, list[Any]]:
    rows = sentences(n, seed=seed)
    labels = [-1 if unlabelled else NAMES.index(label) for _, label in rows]
    return {"text": [text for text, _ in rows], "label": labels}


def dataset_dict(
    splits: dict[str, int], *, unlabelled: tuple[str, ...] = ("test",), names: list[str] | None = None
) -> Any:
    """A DatasetDict of toy rows, `label` a ClassLabel (declared in `names` order), `-1` in the `unlabelled`
    splits (the Hub's convention for test splits)."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    order = names or NAMES
    features = Features({"text": Value("string"), "label": ClassLabel(names=order)})
    parts = {}
    for seed, (split, count) in enumerate(splits.items(), start=1):
        rows = _rows(count, seed, unlabelled=split in unlabelled)
        rows["label"] = [order.index(NAMES[i]) if i >= 0 else -1 for i in rows["label"]]
        parts[split] = Dataset.from_dict(rows, features=features)
    return DatasetDict(parts)


def save_dataset_dict(dest: Path, splits: dict[str, int], *, shards: int = 1, **kwargs: Any) -> Path:
    """`dataset_dict(...).save_to_disk(dest)`, each split in `shards` Arrow files."""
    data = dataset_dict(splits, **kwargs)
    data.save_to_disk(str(dest), num_shards={split: shards for split in splits})
    return dest


def save_pretokenized(dest: Path, tokenizer_dir: Path, splits: dict[str, int], **tokenize: Any) -> Path:
    """The recipe of docs/data.md: tokenize once with `map`, save_to_disk, and the tokenizer beside the splits."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    data = dataset_dict(splits).map(lambda batch: tokenizer(batch["text"], **tokenize), batched=True)
    data.save_to_disk(str(dest))
    tokenizer.save_pretrained(str(dest / "tokenizer"))
    return dest


def local_dataset_repo(
    dest: Path, splits: dict[str, int], *, unlabelled: tuple[str, ...] = ("test",)
) -> Path:
    """A dataset repository in the Hub's layout that load_dataset reads from a path as it reads a Hub id: data
    files per split (`data/<split>.csv`, label ids, -1 in the `unlabelled` splits) and a README whose card
    declares the label a ClassLabel, as glue's does."""
    for seed, (split, count) in enumerate(splits.items(), start=1):
        rows = _rows(count, seed, unlabelled=split in unlabelled)
        write_csv(dest / "data" / f"{split}.csv", list(zip(rows["text"], rows["label"], strict=True)))
    names = "".join(f"          '{i}': {name}\n" for i, name in enumerate(NAMES))
    files = "".join(f"  - split: {split}\n    path: data/{split}.csv\n" for split in splits)
    (dest / "README.md").write_text(
        "---\ndataset_info:\n  features:\n  - name: text\n    dtype: string\n  - name: label\n    dtype:\n"
        f"      class_label:\n        names:\n{names}configs:\n- config_name: default\n  data_files:\n{files}---\n"
    )
    return dest


def other_tokenizer(dest: Path) -> Path:
    """A BERT tokenizer with another (tiny) vocabulary than the test model's."""
    from transformers import BertTokenizerFast

    dest.mkdir(parents=True, exist_ok=True)
    vocab = dest / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "rain", "snow"]) + "\n")
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(str(dest))
    return dest


def ids_beyond(dest: Path, tokenizer_dir: Path, vocab_size: int) -> Path:
    """A pre-tokenized Dataset whose second row holds an id past the vocabulary, with the right tokenizer."""
    import shutil

    from datasets import ClassLabel, Dataset, Features, Sequence, Value

    features = Features({"input_ids": Sequence(Value("int32")), "label": ClassLabel(names=NAMES)})
    rows = {"input_ids": [[2, 10, 3], [2, vocab_size + 5, 3]], "label": [0, 1]}
    Dataset.from_dict(rows, features=features).save_to_disk(str(dest))
    shutil.copytree(tokenizer_dir, dest / "tokenizer")
    return dest


def configured_repo(dest: Path, configs: tuple[str, ...]) -> Path:
    """A dataset repository with several configurations (and no default one)."""
    for config in configs:
        local_dataset_repo(dest / config, {"train": 3})
    entries = "".join(f"- config_name: {c}\n  data_files: {c}/data/*.csv\n" for c in configs)
    (dest / "README.md").write_text(f"---\nconfigs:\n{entries}---\n")
    return dest
