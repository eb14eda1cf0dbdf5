"""How the pods of a multi-node run find each other: the headless Service's name and every worker's address.

An Indexed Job names pod i `<job>-<i>` and sets its hostname to that; with `subdomain: <service>` and a headless
Service of that name, pod i resolves as `<job>-<i>.<service>` from every pod of the namespace (Kubernetes' "Job
with Pod-to-Pod Communication"). The launcher writes these addresses into `TRAINER_WORKER_HOSTS`; the trainer
builds TF_CONFIG from them.
"""

from trainer.contract.container import WORKER_PORT

MAX_HOSTNAME_LENGTH = 63
"""A pod hostname is a DNS-1123 label (RFC 1123): at most 63 characters. An Indexed Job's pod i has the hostname
`<job>-<i>`, so the Job name must leave room for the index."""


def service_name(job_name: str) -> str:
    """The headless Service's name: the Job's own (a Service name is a DNS-1035 label: it starts with a letter)."""
    return job_name if job_name[:1].isalpha() else f"w{job_name}"[:MAX_HOSTNAME_LENGTH]


def worker_hosts(
    job_name: str, nodes: int, port: int = WORKER_PORT, namespace: str | None = None
) -> list[str]:
    """`<job>-<i>.<service>[.<namespace>.svc]:<port>` for i in 0..nodes-1, in index order (without a namespace,
    the pod's own namespace search domain resolves it)."""
    if nodes < 1:
        raise ValueError(f"nodes must be at least 1. Received: nodes={nodes}")
    service = service_name(job_name)
    domain = f"{service}.{namespace}.svc" if namespace else service
    return [f"{job_name}-{i}.{domain}:{port}" for i in range(nodes)]
