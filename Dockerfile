# syntax=docker/dockerfile:1.7
# GPU image for the trainer: `trainer train ...` (the Job the launcher renders runs exactly that).
#
# Base: the slim Python image plus TensorFlow's own GPU wheels (`tensorflow[and-cuda]`, the `gpu` extra). CUDA and
# cuDNN come as NVIDIA pip wheels pinned by uv.lock to the versions TensorFlow 2.21 was built against, so the
# image cannot drift from the lock file, and we do not ship a second CUDA copy as nvidia/cuda bases would. The
# host provides only the NVIDIA driver (through the NVIDIA container toolkit / GPU operator).
#
# Build:  docker build -t registry.example.com/ml/trainer:1.0 .
ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# ---- builder: resolve nothing, install exactly what uv.lock says -------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
# Dependencies first: this layer (several GB of TensorFlow and CUDA wheels) is reused until uv.lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project --extra trainer --extra gpu
# Then the project itself (small, changes often), installed as a regular package, not editable.
COPY pyproject.toml uv.lock README.md ./
COPY trainer ./trainer
COPY launcher ./launcher
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --extra trainer --extra gpu

# ---- runtime: the venv, a non-root user, writable caches under /tmp ---------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="tf-finetune-k8s trainer" \
      org.opencontainers.image.description="Fine-tune Hugging Face text classifiers with TensorFlow on GPUs" \
      org.opencontainers.image.licenses="Apache-2.0"
# UID/GID 1000 is contract.container.CONTAINER_USER_ID; the Job's securityContext runs as the same user.
RUN groupadd --gid 1000 trainer \
    && useradd --uid 1000 --gid 1000 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin trainer
COPY --from=builder /opt/venv /opt/venv
# /tmp is the only path the trainer writes (contract.container.SCRATCH_DIR); the Job mounts an emptyDir there
# and keeps the root filesystem read-only, so every cache points below it.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TF_USE_LEGACY_KERAS=1 \
    TF_CPP_MIN_LOG_LEVEL=1 \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    HF_HOME=/tmp/huggingface \
    MPLCONFIGDIR=/tmp/matplotlib \
    PIP_CACHE_DIR=/tmp/pip-cache
WORKDIR /tmp
USER 1000:1000
ENTRYPOINT ["trainer"]
CMD ["--help"]
