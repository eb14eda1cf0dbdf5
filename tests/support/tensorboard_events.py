"""Read a TensorBoard run folder the way TensorBoard does: its own event reader, orphaned steps purged."""

from pathlib import Path

from tensorboard.backend.event_processing import plugin_event_accumulator as tb
from tensorboard.util import tensor_util

Series = dict[str, list[tuple[int, object]]]


def read_run(run_dir: Path) -> Series:
    """Every tag of the run (all its event files) as [(step, value)]: a float for scalars, the plugin name else."""
    accumulator = tb.EventAccumulator(str(run_dir), size_guidance={tb.TENSORS: 0})
    accumulator.Reload()
    found: Series = {}
    for tag in accumulator.Tags()[tb.TENSORS]:
        plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
        for event in accumulator.Tensors(tag):
            value: object = (
                float(tensor_util.make_ndarray(event.tensor_proto)) if plugin == "scalars" else plugin
            )
            found.setdefault(tag, []).append((event.step, value))
    return found


def steps(series: Series, tag: str) -> list[int]:
    return [step for step, _ in series.get(tag, [])]
