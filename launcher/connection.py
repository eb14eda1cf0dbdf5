"""Find the cluster the way kubectl does (flag, $KUBECONFIG, ~/.kube/config, in-cluster) and connect to it."""

import os
from pathlib import Path

import yaml
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from launcher.cluster import Cluster
from launcher.errors import ClusterConfigError
from launcher.settings import ConnectionSettings

DEFAULT_NAMESPACE = "default"
DEFAULT_KUBECONFIG = "~/.kube/config"
IN_CLUSTER_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def kubeconfig_path(explicit: Path | None, environ: dict[str, str]) -> str | None:
    """The kubeconfig to load, as kubectl finds it; None means: use the in-cluster service account."""
    if explicit is not None:
        if not explicit.expanduser().is_file():
            raise ClusterConfigError(f"kubeconfig {explicit} does not exist")
        return str(explicit.expanduser())
    if environ.get("KUBECONFIG"):
        return environ["KUBECONFIG"]
    default = Path(DEFAULT_KUBECONFIG).expanduser()
    if default.is_file():
        return str(default)
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return None
    raise ClusterConfigError(
        "no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG or create ~/.kube/config"
    )


def connect(settings: ConnectionSettings, environ: dict[str, str] | None = None) -> Cluster:
    """Load kubeconfig (or the in-cluster config) and return API access for the resolved namespace."""
    environ = dict(os.environ) if environ is None else environ
    path = kubeconfig_path(settings.kubeconfig, environ)
    try:
        if path is None:
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
            api_client = client.ApiClient(configuration)
            namespace = (
                settings.namespace or IN_CLUSTER_NAMESPACE_FILE.read_text().strip() or DEFAULT_NAMESPACE
            )
        else:
            api_client = config.new_client_from_config(config_file=path, context=settings.context)
            namespace = settings.namespace or _context_namespace(path, settings.context) or DEFAULT_NAMESPACE
    except (ConfigException, OSError, ValueError, yaml.YAMLError) as e:
        raise ClusterConfigError(f"cannot load the Kubernetes configuration: {str(e).splitlines()[0]}") from e
    return Cluster(
        client.BatchV1Api(api_client),
        client.CoreV1Api(api_client),
        client.NetworkingV1Api(api_client),
        namespace,
    )


def _context_namespace(path: str, context: str | None) -> str | None:
    contexts, active = config.list_kube_config_contexts(config_file=path)
    chosen = active if context is None else next((c for c in contexts if c["name"] == context), None)
    return ((chosen or {}).get("context") or {}).get("namespace")
