"""`make image`: build the trainer image with the first OCI builder that works on this machine.

Builders are tried in order: docker (only when its daemon answers `docker info`: a CLI without a daemon does not
count), podman, buildah. `--builder` (or IMAGE_BUILDER) names one and skips the probe. Every builder gets the
same Dockerfile and the same arguments: the variant, the git commit (`trainer --version` prints it; the image's
`org.opencontainers.image.revision` label records it), extra `--build-arg`s, and an optional CA bundle passed as
the `ca-bundle` build secret (never stored in a layer). Standard library only: it runs with any python3.

    python3 scripts/build_image.py --tag registry.example.com/ml/trainer:1.0 [--variant cpu] [--builder buildah]
"""

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.contract.version import source_commit  # noqa: E402

BUILDERS = ("docker", "podman", "buildah")
BUILDER_ENV = "IMAGE_BUILDER"
PROBE_SECONDS = 30
VARIANTS = ("gpu", "cpu")
CA_SECRET_ID = "ca-bundle"
"""The Dockerfile's `--mount=type=secret,id=ca-bundle`."""


def builder_works(builder: str) -> bool:
    """The builder's own `info` answers: for docker that needs a reachable daemon."""
    if shutil.which(builder) is None:
        return False
    try:
        probe = subprocess.run(
            [builder, "info"],
            capture_output=True,
            timeout=PROBE_SECONDS,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def choose_builder(requested: str | None, works: Callable[[str], bool] = builder_works) -> str:
    if requested:
        if requested not in BUILDERS:
            raise SystemExit(
                f"build_image: unknown builder '{requested}'; choose one of: {', '.join(BUILDERS)}"
            )
        return requested
    for builder in BUILDERS:
        if works(builder):
            return builder
    raise SystemExit(
        "build_image: no working image builder: install docker (with a running daemon), podman or buildah, "
        f"or name one with {BUILDER_ENV}="
    )


def build_command(
    builder: str,
    *,
    tag: str,
    variant: str,
    commit: str,
    build_args: Sequence[str] = (),
    ca_bundle: Path | None = None,
    context: Path = ROOT,
) -> list[str]:
    """The build command line; the same Dockerfile and arguments for every builder."""
    start = {"docker": ["docker", "build"], "podman": ["podman", "build", "--layers"]}
    command = start.get(builder, ["buildah", "bud", "--layers"])
    for arg in (f"VARIANT={variant}", f"GIT_COMMIT={commit}", *build_args):
        command += ["--build-arg", arg]
    if ca_bundle is not None:
        command += ["--secret", f"id={CA_SECRET_ID},src={ca_bundle}"]
    return [*command, "--file", str(context / "Dockerfile"), "--tag", tag, str(context)]


def build_env(builder: str, environ: Mapping[str, str]) -> dict[str, str]:
    """docker needs BuildKit for RUN --mount (the default since Docker 23; older ones need it asked for)."""
    return {**environ, "DOCKER_BUILDKIT": "1"} if builder == "docker" else dict(environ)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="build_image", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", required=True, help="image name, e.g. registry.example.com/ml/trainer:1.0")
    parser.add_argument("--variant", choices=VARIANTS, default="gpu", help="cpu leaves out the CUDA wheels")
    parser.add_argument(
        "--builder", default=os.environ.get(BUILDER_ENV) or None, help="docker, podman or buildah"
    )
    parser.add_argument("--build-arg", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--ca-bundle", type=Path, help="PEM file of extra CA certificates (a TLS proxy's)")
    parser.add_argument(
        "--commit", help="the commit to record (default: this checkout's HEAD, -dirty if changed)"
    )
    parser.add_argument("--context", type=Path, default=ROOT, help="build context holding the Dockerfile")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.ca_bundle is not None and not args.ca_bundle.is_file():
        raise SystemExit(f"build_image: --ca-bundle {args.ca_bundle} is not a file")
    builder = choose_builder(args.builder)
    command = build_command(
        builder,
        tag=args.tag,
        variant=args.variant,
        commit=args.commit or source_commit(ROOT),
        build_args=args.build_arg,
        ca_bundle=args.ca_bundle,
        context=args.context.resolve(),
    )
    print("+ " + " ".join(command), file=sys.stderr, flush=True)
    return subprocess.run(command, env=build_env(builder, os.environ), check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
