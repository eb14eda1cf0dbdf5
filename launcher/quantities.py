"""Kubernetes resource quantities (`16Gi`, `500m`, `4`): validation and comparison, without the client."""

import re
from decimal import Decimal, InvalidOperation

# The API server's grammar for a quantity (k8s.io/apimachinery/pkg/api/resource/quantity.go), without a sign:
# a decimal number, then a binary suffix (Ki..Ei), a decimal suffix (n u m k M G T P E) or a decimal exponent.
_QUANTITY = re.compile(
    r"^(?P<number>([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+)))?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
EXAMPLES = "e.g. 16Gi, 512Mi, 500m, 4"


def parse(text: str) -> Decimal:
    """The value of a non-negative quantity in base units; ValueError with the expected form otherwise."""
    match = _QUANTITY.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity ({EXAMPLES})")
    number, suffix = Decimal(match["number"]), match["suffix"] or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    try:
        return number * Decimal(10) ** Decimal(suffix[1:])
    except InvalidOperation as e:  # pragma: no cover - the regex admits only valid exponents
        raise ValueError(f"{text!r} is not a Kubernetes quantity ({EXAMPLES})") from e


def validate(text: str) -> str:
    """Return the quantity unchanged (as written) if valid and positive."""
    if parse(text) <= 0:
        raise ValueError(f"{text!r} must be greater than zero")
    return text.strip()


CPU_PER_GPU = 4
MEMORY_PER_GPU_GI = 16
"""A pod's default CPU and memory: this much per GPU (a CPU-only pod gets one GPU's share). What GPU nodes offer
per GPU at the least: a 4-vCPU, 16 GiB node with one GPU; with 8 GPUs 32 CPUs and 128Gi."""
PER_GPU_RULE = f"{CPU_PER_GPU} CPUs and {MEMORY_PER_GPU_GI}Gi per GPU, as much without GPUs"


def default_cpu(gpus: int) -> str:
    return str(CPU_PER_GPU * max(1, gpus))


def default_memory(gpus: int) -> str:
    return f"{MEMORY_PER_GPU_GI * max(1, gpus)}Gi"
