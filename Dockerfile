# The trainer image: `trainer train ...` (the Job the launcher renders runs exactly that). docs/image.md has the
# measurements, the air-gapped and proxied builds, and what `make image-test` proves.
#
# It builds unchanged with BuildKit (`docker build`), buildah (`buildah bud`) and podman (`podman build`): every
# RUN mount target is absolute and nothing needs a builder-specific feature. `make image` picks the builder.
#
# Base: a slim Python plus TensorFlow's own GPU wheels (`tensorflow[and-cuda]`, the `gpu` extra). CUDA and cuDNN
# come as NVIDIA wheels pinned by uv.lock to the versions TensorFlow 2.21 was built against, so the image cannot
# drift from the lock file and ships no second CUDA copy as nvidia/cuda bases would. The host provides only the
# NVIDIA driver (NVIDIA container toolkit / GPU operator).
#
# Layers, largest and most stable first, so that a code change re-creates only the last, small one:
#   1. the base image; 2. the CUDA libraries (site-packages/nvidia; absent in the cpu variant);
#   3. every other dependency (TensorFlow, transformers, ...); 4. the project's own code.
#
# Build arguments:
#   BASE_IMAGE      the Python base (both stages use it; the venv links to its python3)
#   UV_IMAGE        an image holding the uv binary at /uv (a mirror of ghcr.io/astral-sh/uv, or your own)
#   VARIANT         gpu (default) or cpu: cpu leaves out the CUDA wheels (laptops, CI)
#   PYPI_INDEX_URL  a PyPI mirror (simple API) serving the same files: installs stay hash-checked against uv.lock
#   GIT_COMMIT      the commit built; `trainer --version` prints it, the revision label records it
# Build secret (never stored in a layer):
#   ca-bundle       the CA certificates (PEM) to trust instead of the base image's: behind a TLS-intercepting proxy,
#                   a bundle holding its CA and the public ones (a host's /etc/ssl/certs/ca-certificates.crt)
#
#   docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) -t registry.example.com/ml/trainer:1.0 .
ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# ---- deps: exactly what uv.lock pins, installed into /opt/venv; the CUDA libraries set apart for their own layer
FROM ${BASE_IMAGE} AS deps
COPY --from=uv /uv /usr/local/bin/uv
ARG VARIANT=gpu
ARG PYPI_INDEX_URL=https://pypi.org/simple
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_SYSTEM_CERTS=1 \
    UV_NO_PROGRESS=1
WORKDIR /src
COPY pyproject.toml uv.lock ./
# `uv sync --frozen` would fetch the URLs recorded in uv.lock whatever the index; exporting the lock with its
# hashes and installing that list from PYPI_INDEX_URL installs the same files from a mirror, verified.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca-bundle,target=/run/secrets/ca-bundle \
    set -eu; \
    if [ -s /run/secrets/ca-bundle ]; then export SSL_CERT_FILE=/run/secrets/ca-bundle; fi; \
    case "$VARIANT" in \
        gpu) set -- --extra trainer --extra gpu ;; \
        cpu) set -- --extra trainer ;; \
        *) echo "VARIANT must be gpu or cpu, not '$VARIANT'" >&2; exit 2 ;; \
    esac; \
    uv export --frozen --no-dev --no-emit-project --no-header "$@" -o /tmp/requirements.txt; \
    uv venv --python python3 /opt/venv; \
    uv pip install --python /opt/venv/bin/python --no-deps --require-hashes --no-build \
        --default-index "$PYPI_INDEX_URL" -r /tmp/requirements.txt; \
    site="$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"; \
    mkdir -p "/layers/cuda$site"; \
    if [ -d "$site/nvidia" ]; then mv "$site/nvidia" "/layers/cuda$site/"; fi; \
    rm /tmp/requirements.txt

# ---- app: the project alone, installed with /opt/venv as its prefix into a tree of its own (one small layer)
FROM deps AS app
ARG PYPI_INDEX_URL=https://pypi.org/simple
COPY README.md ./
COPY trainer ./trainer
COPY launcher ./launcher
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca-bundle,target=/run/secrets/ca-bundle \
    set -eu; \
    if [ -s /run/secrets/ca-bundle ]; then export SSL_CERT_FILE=/run/secrets/ca-bundle; fi; \
    uv pip install --python /opt/venv/bin/python --no-deps --default-index "$PYPI_INDEX_URL" \
        --prefix /layers/app/opt/venv /src; \
    rm -f /layers/app/opt/venv/.lock

# ---- runtime: base, non-root user, CUDA layer, dependencies layer, code layer; caches under /tmp
FROM ${BASE_IMAGE} AS runtime
# UID/GID 1000 is contract.container.CONTAINER_USER_ID; the Job's securityContext runs as the same user.
RUN groupadd --gid 1000 trainer \
    && useradd --uid 1000 --gid 1000 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin trainer
COPY --from=deps /layers/cuda/ /
COPY --from=deps /opt/venv /opt/venv
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
COPY --from=app /layers/app/ /
# Metadata only from here on: a new commit adds no file-system layer.
ARG VARIANT=gpu
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="tf-finetune-k8s trainer" \
      org.opencontainers.image.description="Fine-tune Hugging Face text classifiers with TensorFlow on GPUs" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      io.github.tf-finetune-k8s.variant="${VARIANT}"
ENV TF_FINETUNE_K8S_COMMIT=${GIT_COMMIT}
USER 1000:1000
ENTRYPOINT ["trainer"]
CMD ["--help"]
