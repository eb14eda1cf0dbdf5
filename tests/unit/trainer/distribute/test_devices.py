"""What run.json says a worker trained on."""

from trainer.distribute.devices import describe_devices


def test_devices_are_described_by_model_and_count_per_worker() -> None:
    assert describe_devices(["NVIDIA L4", "NVIDIA L4"], workers=3) == {
        "type": "NVIDIA L4",
        "per_worker": 2,
        "workers": 3,
    }
    assert describe_devices([], workers=1) == {"type": "cpu", "per_worker": 0, "workers": 1}
