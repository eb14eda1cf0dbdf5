"""podman and buildah confined to a root directory of their own, and the host left as it was found.

Everything they keep (images, layers, build cache, containers, pods, secrets, volumes, network configuration,
state) lives under one root: storage through CONTAINERS_STORAGE_CONF, engine paths through CONTAINERS_CONF (the
repo's containers.conf plus this root's paths), temporary files through TMPDIR. Any builder or script run with
`Engine.env()` uses it without extra flags. podman 4.3 still creates two host paths whatever its configuration
says (`/run/containers/networks`, `/var/lib/containers/cache/blob-info-cache-v1.boltdb`); `confined_engine`
removes every path of `HOST_FOOTPRINT` it did not find, and fails if one was under /etc.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_CONF = Path(__file__).with_name("containers.conf")
HOST_FOOTPRINT = (
    Path("/run/containers"),
    Path("/var/lib/containers"),
    Path("/run/libpod"),
    Path("/etc/containers/networks"),
    Path("/etc/cni/net.d/cni.lock"),
)
"""Host paths podman or buildah create when not told otherwise (the /etc ones must never appear)."""
DEFAULT_TIMEOUT = 300.0


def containers_conf(template: str, additions: Mapping[str, Mapping[str, str]]) -> str:
    """`template` (TOML) with string keys added at the top of their tables, or in new tables at the end."""
    lines = template.splitlines()
    for table, keys in additions.items():
        entries = [f'{key} = "{value}"' for key, value in keys.items()]
        header = f"[{table}]"
        if header in lines:
            at = lines.index(header) + 1
            lines[at:at] = entries
        else:
            lines += ["", header, *entries]
    return "\n".join(lines) + "\n"


def storage_conf(root: Path) -> str:
    return f'[storage]\ndriver = "overlay"\ngraphroot = "{root}/storage"\nrunroot = "{root}/run"\n'


@dataclass(frozen=True)
class Engine:
    root: Path

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CONTAINERS_CONF": str(self.root / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(self.root / "storage.conf"),
            "TMPDIR": str(self.root / "tmp"),
            # RUN steps without a runtime container: the default isolation needs cgroup setup this host lacks.
            "BUILDAH_ISOLATION": "chroot",
        }

    def run(
        self, *command: str, timeout: float = DEFAULT_TIMEOUT, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            list(command), env=self.env(), capture_output=True, text=True, timeout=timeout, input=stdin
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr[-4000:]}")
        return result

    def podman(
        self, *args: str, timeout: float = DEFAULT_TIMEOUT, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run("podman", *args, timeout=timeout, check=check, stdin=stdin)

    def write_config(self) -> None:
        for sub in ("storage", "run", "tmp", "libpod", "volumes", "networks"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        paths = {
            "engine": {"tmp_dir": str(self.root / "libpod"), "volume_path": str(self.root / "volumes")},
            "network": {"network_config_dir": str(self.root / "networks")},
        }
        (self.root / "containers.conf").write_text(containers_conf(REPO_CONF.read_text(), paths))
        (self.root / "storage.conf").write_text(storage_conf(self.root))

    def reset(self) -> None:
        """Remove every pod, container, secret, build container and image, then the root itself."""
        for command in (
            ("podman", "pod", "rm", "--all", "--force"),
            ("podman", "rm", "--all", "--force"),
            ("podman", "secret", "rm", "--all"),
            ("buildah", "rm", "--all"),
            ("podman", "rmi", "--all", "--force"),
            ("podman", "system", "reset", "--force"),
        ):
            self.run(*command, check=False)
        shutil.rmtree(self.root)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


@contextlib.contextmanager
def confined_engine(root: Path | None = None) -> Iterator[Engine]:
    """An engine under `root`, kept afterwards (a warm cache for the next run), or under a temporary directory
    removed with everything in it."""
    existed = {path for path in HOST_FOOTPRINT if path.exists()}
    keep = root is not None
    engine = Engine(root or Path(tempfile.mkdtemp(prefix="image-test-")))
    engine.write_config()
    try:
        yield engine
    finally:
        if not keep:
            engine.reset()
        created = [path for path in HOST_FOOTPRINT if path not in existed and path.exists()]
        for path in created:
            _remove(path)
        edited = [str(path) for path in created if path.is_relative_to("/etc")]
        if edited:
            raise RuntimeError(f"the container tools wrote to /etc (removed again): {', '.join(edited)}")
