"""The Dockerfile's two base images: the public ones when a registry answers, else local stand-ins.

Without a registry (this project's CI), the stand-ins are built from what can be reached: a Debian bookworm
root file system by `debootstrap` (its python3 is 3.11, as in python:3.11-slim-bookworm) from the host's apt
mirror, and an image holding only the `uv` binary at /uv (as ghcr.io/astral-sh/uv does), taken from the `uv`
wheel the Makefile installs. Both are tagged under localhost/ and passed as BASE_IMAGE and UV_IMAGE.
"""

import re
import shutil
import subprocess
import urllib.error
import urllib.request
from http import HTTPStatus
from pathlib import Path

from image.engine import Engine

REGISTRIES = ("https://registry-1.docker.io/v2/", "https://ghcr.io/v2/")
PROBE_SECONDS = 10.0
APT_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PYTHON_STANDIN = "localhost/python:3.11-slim-bookworm"
UV_STANDIN = "localhost/uv"
STANDIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEBOOTSTRAP_SECONDS = 900.0


def registries_reachable(timeout: float = PROBE_SECONDS) -> bool:
    """Both registries answer their API root as a registry does (200, or 401 asking for a token); a proxy's
    refusal or no name resolution means no."""
    for url in REGISTRIES:
        try:
            urllib.request.urlopen(url, timeout=timeout).close()
        except urllib.error.HTTPError as e:
            if e.code != HTTPStatus.UNAUTHORIZED:
                return False
        except (urllib.error.URLError, OSError):
            return False
    return True


def debian_mirror(sources: str) -> str:
    """The first `URIs:` of a deb822 sources file that serves the main archive (not -security)."""
    for uri in re.findall(r"^URIs:\s*(\S+)", sources, flags=re.MULTILINE):
        if "security" not in uri:
            return uri
    return DEFAULT_MIRROR


def python_standin(engine: Engine, workdir: Path) -> str:
    if engine.podman("image", "exists", PYTHON_STANDIN, check=False).returncode == 0:
        return PYTHON_STANDIN
    rootfs = workdir / "bookworm-rootfs"
    mirror = debian_mirror(APT_SOURCES.read_text()) if APT_SOURCES.exists() else DEFAULT_MIRROR
    engine.run(
        "debootstrap",
        "--variant=minbase",
        "--include=python3,ca-certificates",
        "bookworm",
        str(rootfs),
        mirror,
        timeout=DEBOOTSTRAP_SECONDS,
    )
    try:
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(rootfs / cache, ignore_errors=True)
        changes = ["--change", f"ENV PATH={STANDIN_PATH}", "--change", 'CMD ["python3"]']
        with subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE) as tar:
            imported = subprocess.run(
                ["podman", "import", *changes, "-", PYTHON_STANDIN],
                stdin=tar.stdout,
                env=engine.env(),
                capture_output=True,
                text=True,
                check=False,
            )
        if tar.returncode != 0 or imported.returncode != 0:
            raise RuntimeError(f"importing the bookworm root file system failed: {imported.stderr[-2000:]}")
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    return PYTHON_STANDIN


def uv_standin(engine: Engine, uv_binary: Path, workdir: Path) -> str:
    version = engine.run(str(uv_binary), "--version").stdout.split()[1]
    tag = f"{UV_STANDIN}:{version}"
    if engine.podman("image", "exists", tag, check=False).returncode == 0:
        return tag
    context = workdir / "uv-image"
    context.mkdir(parents=True, exist_ok=True)
    shutil.copy2(uv_binary, context / "uv")
    (context / "Containerfile").write_text("FROM scratch\nCOPY uv /uv\n")
    engine.run("buildah", "bud", "--layers", "--tag", tag, str(context))
    shutil.rmtree(context)
    return tag


def base_image_args(engine: Engine, uv_binary: Path, workdir: Path) -> list[str]:
    """`--build-arg` values for the Dockerfile: none when the public images can be pulled."""
    if registries_reachable():
        return []
    return [
        f"BASE_IMAGE={python_standin(engine, workdir)}",
        f"UV_IMAGE={uv_standin(engine, uv_binary, workdir)}",
    ]
