"""Datasets that `datasets.load_dataset` reads (`--dataset-name`, `--dataset-config-name`, `--dataset-revision`): a
Hugging Face Hub id, or a local dataset folder (data files in a Hub repository's layout) through the same call.

They are streamed (`streaming=True`): rows arrive in record batches and go straight into the token files, so
neither memory nor scratch disk holds the data set, however large. A Hub revision is first resolved to its commit
(one request); every split is read at that commit and run.json records it. A Hub id needs network access to
huggingface.co (or, with `HF_HUB_OFFLINE=1`, the dataset in the local cache). Failures map to the trainer's errors:
no such dataset or revision exit 4, gated exit 5, a missing configuration exit 2, the Hub unreachable exit 75.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import requests
from huggingface_hub import HfApi, constants
from huggingface_hub.utils import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

from trainer.data import tables
from trainer.data.disk_datasets import declared
from trainer.data.hub import PROBE_TIMEOUT_S, connection_reason, looks_like_path
from trainer.data.rows import Part, RowSource
from trainer.errors import AccessDeniedError, DataError, NotFoundError, RetryableError, UsageError
from trainer.settings.data import HubDatasetArguments

OFFLINE_HINT = "offline clusters save_to_disk the dataset to a bucket and pass its s3:// prefix as the data"


def pin(name: str, revision: str | None) -> str | None:
    """The commit `revision` (default: main) of the Hub dataset `name` is at; None for a local folder or offline."""
    if looks_like_path(name) or constants.HF_HUB_OFFLINE:
        return None
    endpoint = constants.ENDPOINT.rstrip("/")
    try:
        return HfApi(endpoint=endpoint).dataset_info(name, revision=revision, timeout=PROBE_TIMEOUT_S).sha
    except GatedRepoError as e:
        raise AccessDeniedError(
            f"dataset '{name}' is gated on the Hub: accept its terms and pass an HF_TOKEN that may read it"
        ) from e
    except RepositoryNotFoundError as e:
        raise NotFoundError(
            f"dataset '{name}' not found on the Hub at {endpoint}: check --dataset-name; a private one needs HF_TOKEN"
        ) from e
    except RevisionNotFoundError as e:
        raise NotFoundError(f"dataset '{name}' has no revision '{revision}': fix --dataset-revision") from e
    except requests.RequestException as e:
        raise RetryableError(
            f"cannot reach the Hugging Face Hub at {endpoint} for dataset '{name}': {_reason(e)} (retryable; "
            f"{OFFLINE_HINT})"
        ) from e


def _reason(error: requests.RequestException) -> str:
    response = getattr(error, "response", None)
    return f"HTTP {response.status_code}" if response is not None else connection_reason(error)


def _load(args: HubDatasetArguments, revision: str | None) -> Any:
    """The dataset's splits as streams (an IterableDatasetDict): resolving them reads no rows."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    name = str(args.dataset_name)
    try:
        return datasets.load_dataset(name, args.dataset_config_name, revision=revision, streaming=True)
    except datasets.exceptions.DatasetNotFoundError as e:
        raise NotFoundError(
            f"dataset '{name}' not found: check --dataset-name ({tables.first_line(e)})"
        ) from e
    except ValueError as e:
        text = " ".join(str(e).split("Example of usage")[0].split())
        if "config" not in text.lower():
            raise DataError(f"cannot read dataset '{name}': {text}") from e
        raise UsageError(f"dataset '{name}': {text}: fix --dataset-config-name") from e
    except (ConnectionError, FileNotFoundError) as e:
        if constants.HF_HUB_OFFLINE and not looks_like_path(name):
            raise NotFoundError(
                f"dataset '{name}' is not in the local cache and HF_HUB_OFFLINE is set ({OFFLINE_HINT})"
            ) from e
        if isinstance(e, FileNotFoundError):
            raise NotFoundError(f"dataset '{name}': {tables.first_line(e)}: check --dataset-name") from e
        raise RetryableError(f"cannot read dataset '{name}': {tables.first_line(e)} (retryable)") from e


@dataclass(frozen=True)
class HubDatasets:
    """A dataset's splits as streams, read at one commit."""

    args: HubDatasetArguments
    streams: Any
    commit: str | None

    @classmethod
    def open(cls, args: HubDatasetArguments) -> "HubDatasets":
        name = str(args.dataset_name)
        if args.dataset_revision is not None and looks_like_path(name):
            raise UsageError(
                f"--dataset-revision picks a revision of a Hub dataset, and --dataset-name {name} is a folder: drop it"
            )
        commit = pin(name, args.dataset_revision)
        return cls(args, _load(args, commit or args.dataset_revision), commit)

    @property
    def what(self) -> str:
        config = f" ({self.args.dataset_config_name})" if self.args.dataset_config_name else ""
        return f"dataset {self.args.dataset_name}{config}"

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.streams)

    def source(self, split: str | None, other_split: str) -> RowSource:
        stream = self.streams[split]
        columns, class_labels = declared(stream.features)
        record = {
            "dataset": self.args.dataset_name,
            "config": self.args.dataset_config_name,
            "split": split,
            "revision": self.args.dataset_revision,
            "commit": self.commit,
        }
        if looks_like_path(str(self.args.dataset_name)):
            record["path"] = str(Path(str(self.args.dataset_name)).expanduser().resolve())
        return RowSource(
            what=f"split '{split}' of {self.what}",
            parts=partial(self._parts, stream, split),
            names=tuple(_part_name(split, i, stream.num_shards) for i in range(stream.num_shards)),
            record=[record],
            columns=columns,
            class_labels=class_labels,
            other_split=other_split,
            unit="stream shard(s)",
        )

    def _parts(self, stream: Any, split: str) -> Iterator[Part]:
        """One part per shard of the stream (its data files), in order."""
        count = stream.num_shards
        for index in range(count):
            shard = stream.shard(count, index, contiguous=True) if count > 1 else stream
            uri = f"{self.what} split '{split}' shard {index + 1}/{count}"
            yield Part(uri, _part_name(split, index, count), partial(_read_stream, shard, uri))


def _part_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}"


def _read_stream(
    stream: Any, uri: str, columns: Mapping[str, str], chunk_rows: int, text: set[str]
) -> Iterator[pa.Table]:
    """The stream's `columns`, `chunk_rows` rows at a time, as they arrive."""
    if stream.column_names is not None:
        tables.check_columns(uri, columns, stream.column_names)
    try:
        for table in stream.with_format("arrow").iter(batch_size=chunk_rows):
            tables.check_columns(uri, columns, table.column_names)
            yield table.select(list(columns))
    except (ConnectionError, TimeoutError, requests.RequestException) as e:
        raise RetryableError(f"reading {uri} failed: {tables.first_line(e)} (retryable)") from e
