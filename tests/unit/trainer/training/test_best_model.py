"""The best evaluation and early stopping: the metric looked up by name, the direction, the patience, a resume."""

import pytest

from trainer.errors import UsageError
from trainer.settings.train import TrainSettings
from trainer.training.best_model import BestModel, resolve_metric, tracker_for

EVALUATION = {"loss": 0.5, "accuracy": 0.8, "macro_f1": 0.7, "per_class": {"a": {"f1": 0.7}}}


def settings(**options: object) -> TrainSettings:
    return TrainSettings(model="m", train_data="t.csv", output="o", **options)


def test_the_metric_is_any_number_the_evaluation_reports_with_hugging_faces_spellings() -> None:
    assert resolve_metric("accuracy", EVALUATION) == "accuracy"
    assert resolve_metric("eval_loss", EVALUATION) == "loss"
    assert resolve_metric("f1_macro", EVALUATION) == "macro_f1"
    assert (
        resolve_metric("pearson", {"loss": 0.1, "pearson": 0.9}) == "pearson"
    )  # a regression's, when reported
    with pytest.raises(UsageError) as raised:
        resolve_metric("mse", EVALUATION)
    assert str(raised.value) == (
        "--metric-for-best-model mse: this run's evaluation reports accuracy, loss, macro_f1; choose one of those"
    )


@pytest.mark.parametrize(
    ("metric", "greater"),
    [
        ("loss", False),
        ("eval_loss", False),
        ("mse", False),
        ("rmse", False),
        ("accuracy", True),
        ("pearson", True),
    ],
)
def test_losses_and_errors_are_better_lower_the_rest_higher(metric: str, greater: bool) -> None:
    assert settings(metric_for_best_model=metric).best_is_greater is greater
    assert (
        settings(metric_for_best_model=metric, greater_is_better=not greater).best_is_greater is not greater
    )


def test_the_best_model_follows_loss_unless_told_and_needs_evaluations() -> None:
    assert not settings().tracks_best_model
    assert settings(load_best_model_at_end=True).best_metric == "loss"
    assert settings(early_stopping_patience=2).tracks_best_model
    with pytest.raises(ValueError, match="--early-stopping-patience needs evaluations during training"):
        settings(early_stopping_patience=2, eval_strategy="no")


def test_patience_counts_evaluations_without_improvement_and_a_resume_keeps_the_count() -> None:
    best = BestModel("accuracy", greater_is_better=True, patience=2)
    assert best.observe({"accuracy": 0.5}, global_step=10, epoch=1)
    assert best.observe({"accuracy": 0.7, "per_class": {}}, global_step=20, epoch=1)
    assert not best.observe({"accuracy": 0.6}, global_step=30, epoch=2)
    assert not best.should_stop
    assert best.describe() == (
        "best accuracy=0.7000 at optimizer step 20; 1 evaluation(s) without improvement of 2 allowed"
    )
    resumed = tracker_for("accuracy", greater_is_better=True, patience=2, saved=best.as_dict())
    assert not resumed.observe({"accuracy": 0.7}, global_step=40, epoch=2)  # equal is no improvement
    assert resumed.should_stop
    assert not resumed.observe({"accuracy": 0.9}, global_step=40, epoch=2)  # the same step again: not counted
    assert resumed.summary(loaded=True) == {
        "metric": "accuracy",
        "greater_is_better": True,
        "value": 0.7,
        "global_step": 20,
        "epoch": 1,
        "loaded_at_end": True,
        "stopped_early": True,
    }
    assert resumed.evaluation == {"accuracy": 0.7, "per_class": {}}


def test_epoch_evaluations_feed_the_tracker_which_saves_each_new_best_and_stops_the_fit() -> None:
    from types import SimpleNamespace

    from support.plans import run_plan
    from trainer.training.evaluations import Evaluating, StopWhenStale, evaluation_callbacks

    losses = iter([0.9, 0.5, 0.6])
    saved: list[int] = []
    best = BestModel("loss", greater_is_better=False, patience=1)
    evaluating = Evaluating(lambda: {"loss": next(losses), "accuracy": 0.5}, [], best, saved.append)
    where = iter([(10, 1), (20, 2), (30, 3)])
    plan = run_plan(steps_per_epoch=10, total_steps=40, epochs=4)
    callbacks, step_evaluation = evaluation_callbacks(
        settings(load_best_model_at_end=True, early_stopping_patience=1),
        plan,
        evaluating,
        where=lambda: next(where),
        announce=False,
    )
    assert step_evaluation is None and isinstance(callbacks[1], StopWhenStale)
    model = SimpleNamespace(stop_training=False)
    for callback in callbacks:
        callback.set_model(model)
    for epoch in range(3):
        logs: dict[str, float] = {}
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        assert logs["val_loss"] in (0.9, 0.5, 0.6)
        assert model.stop_training is (epoch == 2)
    assert saved == [10, 20]  # each new best, when measured
    assert (best.global_step, best.value, best.epoch) == (20, 0.5, 2)
