"""AdamW with warmup and linear decay, and its lazy variant for large embedding tables.

The word-embedding gradient arrives as `tf.IndexedSlices` (only the rows of the batch's tokens), but Keras' Adam
still decays both moments and moves every row of the table each step, and transformers' AdamWeightDecay adds a
dense weight-decay pass on top: for all-MiniLM-L6-v2 that is 11.7M of its 22.7M weights touched three times a step
for the ~500 rows a batch of short sentences uses (measured: about half of the optimizer time on a CPU step).
`LazyAdamWeightDecay` applies the moment, weight and decay updates to those rows only, as TensorFlow Addons'
LazyAdam and PyTorch's SparseAdam do. Dense variables are updated exactly as by AdamWeightDecay.
"""

from collections.abc import Callable
from typing import Any

import tensorflow as tf
from transformers import AdamWeightDecay, create_optimizer

from trainer.settings.train import LrSchedulerType, Optim

GradsAndVars = list[tuple[Any, tf.Variable]]

NO_DECAY = ["LayerNorm", "layer_norm", "bias"]
"""Variables exempt from weight decay, as in transformers' `create_optimizer` and BERT's original recipe."""


class LazyAdamWeightDecay(AdamWeightDecay):
    """AdamWeightDecay whose sparse updates read and write only the rows whose gradient is in the batch.

    Rows a batch does not use keep their moments and weights unchanged (no momentum drift, no decay) until a batch
    uses them again; for dense variables nothing differs.
    """

    def _resource_apply_sparse(
        self, grad: tf.Tensor, var: tf.Variable, indices: tf.Tensor, apply_state: dict[Any, Any] | None = None
    ) -> tf.Operation:
        var_device, var_dtype = var.device, var.dtype.base_dtype
        coefficients = (apply_state or {}).get((var_device, var_dtype)) or self._fallback_apply_state(
            var_device, var_dtype
        )
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        beta_1, beta_2 = coefficients["beta_1_t"], coefficients["beta_2_t"]
        m_rows = beta_1 * tf.gather(m, indices) + coefficients["one_minus_beta_1_t"] * grad
        v_rows = beta_2 * tf.gather(v, indices) + coefficients["one_minus_beta_2_t"] * tf.square(grad)
        # `lr` is bias-corrected (as in Keras' Adam kernels); decoupled decay uses the schedule's rate `lr_t`.
        step = coefficients["lr"] * m_rows / (tf.sqrt(v_rows) + coefficients["epsilon"])
        if self._do_use_weight_decay(var.name):
            step += coefficients["lr_t"] * coefficients["weight_decay_rate"] * tf.gather(var, indices)
        return tf.group(
            self._resource_scatter_update(m, indices, m_rows),
            self._resource_scatter_update(v, indices, v_rows),
            tf.raw_ops.ResourceScatterSub(resource=var.handle, indices=indices, updates=step),
        )


def build_optimizer(
    *,
    optim: Optim,
    learning_rate: float,
    total_steps: int,
    warmup_steps: int,
    weight_decay: float,
    lr_scheduler_type: LrSchedulerType = "linear",
    max_grad_norm: float | None = None,
) -> tf.keras.optimizers.Optimizer:
    """AdamW (beta 0.9/0.999, epsilon 1e-8) on a linear warmup, then a linear decay to zero (BERT's recipe) or,
    with `lr_scheduler_type="constant"`, the peak rate to the end; with `max_grad_norm`, the gradients (summed
    over the replicas) clipped to that global norm first, as Hugging Face's Trainer does."""
    _, schedule = create_optimizer(
        init_lr=learning_rate,
        num_train_steps=total_steps,
        num_warmup_steps=warmup_steps,
        weight_decay_rate=weight_decay,
        min_lr_ratio=1.0 if lr_scheduler_type == "constant" else 0.0,
    )
    # Not create_optimizer's optimizer: without weight decay it returns the new Keras Adam, whose state and build
    # differ from the legacy OptimizerV2 family both classes here belong to (one checkpoint layout for all).
    cls = LazyAdamWeightDecay if optim == "adamw_lazy" else AdamWeightDecay
    return cls(
        learning_rate=schedule,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        weight_decay_rate=weight_decay,
        exclude_from_weight_decay=NO_DECAY,
        gradient_transformers=[] if max_grad_norm is None else [clip_by_global_norm(max_grad_norm)],
    )


def clip_by_global_norm(max_norm: float) -> Callable[[GradsAndVars], GradsAndVars]:
    """Scale the (replica-summed) gradients so their global L2 norm is at most `max_norm`, like PyTorch's
    `clip_grad_norm_`. Keras' `global_clipnorm` would take the norm of a sparse gradient's rows as they come, a
    token's row once per occurrence; here repeated rows are summed first, so the norm is that of the dense
    gradient and does not depend on how the batch was split (gradient accumulation)."""

    def transform(grads_and_vars: GradsAndVars) -> GradsAndVars:
        grads = [_summed_rows(grad) for grad, _ in grads_and_vars]
        clipped, _ = tf.clip_by_global_norm(grads, max_norm)
        return list(zip(clipped, [var for _, var in grads_and_vars], strict=True))

    return transform


def _summed_rows(grad: Any) -> Any:
    if not isinstance(grad, tf.IndexedSlices):
        return grad
    rows, positions = tf.unique(grad.indices)
    values = tf.math.unsorted_segment_sum(grad.values, positions, tf.shape(rows)[0])
    return tf.IndexedSlices(values, rows, grad.dense_shape)
