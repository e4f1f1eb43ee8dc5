"""The container image, for real: build it on a local Debian base, run it against the Discord
stand-in, and check that `docker stop` drains it and it exits 0 within the timeout.

    python benchmarks/docker_stop.py                 # base, build, then the checks
    python benchmarks/docker_stop.py --json out.json

Needs a running Docker engine (Debian's docker.io; `dockerd &` as root) and, the first
time, debootstrap. No image registry is needed: the base is made with debootstrap (Debian
bookworm with python3, its venv module and tini) and imported as `histbot-base:bookworm`,
then passed to the Dockerfile as PYTHON_IMAGE. The build uses the classic builder
(DOCKER_BUILDKIT=0: no buildx here) on the host's network, for pip and apt.

What it measures, each beside what the issue saw before (exit 137 after 10 s):

* `docker stop` during a burst of /ask: seconds until the container has exited, its exit
  code, and the interactions acknowledged vs answered (0 left "thinking…" is the goal);
* the health check turning healthy, and the image's size;
* the image with `--read-only` (only /data writable) answering, as uid 10001;
* a root-owned bind mount on /data: the one line the container prints.

Long (a debootstrap and a pip install take minutes): not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from standin import Discord, InteractionRecord, StandinConfig  # noqa: E402

BASE = "histbot-base:bookworm"
IMAGE = "histbot:local"
PACKAGES = "python3,python3-venv,python-is-python3,ca-certificates,tini"
QUESTIONS = [
    json.loads(line)["q"]
    for line in (REPO / "benchmarks" / "data" / "dev" / "dev.jsonl").read_text().splitlines()
    if line.strip()
]


def run(*command: str, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=check, text=True, capture_output=True, **kwargs)


def have_image(name: str) -> bool:
    return run("docker", "image", "inspect", name, check=False).returncode == 0


def make_base() -> float:
    """debootstrap a minimal bookworm with Python and import it as BASE; seconds taken."""
    if have_image(BASE):
        return 0.0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="histbot-rootfs-") as rootfs:
        run("debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm", rootfs)
        trust_what_this_machine_trusts(Path(rootfs))
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-", BASE], stdin=tar.stdout, check=True)
        tar.wait()
    return time.monotonic() - started


def trust_what_this_machine_trusts(rootfs: Path) -> None:
    """The host's CA bundle in the base (a machine behind a TLS-inspecting proxy trusts its
    CA), and pip told to use it: pip otherwise trusts only its own bundle."""
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if bundle.exists():
        shutil.copyfile(bundle, rootfs / "etc/ssl/certs/ca-certificates.crt")
        (rootfs / "etc/pip.conf").write_text(f"[global]\ncert = {bundle}\n")


def build() -> tuple[float, int]:
    """The image on BASE; (seconds, size in bytes)."""
    started = time.monotonic()
    subprocess.run(
        [
            "docker",
            "build",
            "--network",
            "host",
            "--build-arg",
            f"PYTHON_IMAGE={BASE}",
            "-t",
            IMAGE,
            str(REPO),
        ],
        check=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
        stdout=subprocess.DEVNULL,
    )
    size = int(run("docker", "image", "inspect", "-f", "{{.Size}}", IMAGE).stdout)
    return time.monotonic() - started, size


def container(standin: Discord, name: str, *options: str) -> None:
    """Start the image as a detached container on the host's network, at the stand-in."""
    run("docker", "rm", "-f", name, check=False)
    run(
        "docker", "run", "-d", "--name", name, "--network", "host",
        "-e", "DISCORD_TOKEN=standin-token",
        "-e", f"DISCORD_API_BASE={standin.api_base}",
        "-e", "HISTBOT_ASK_COOLDOWN=0",
        "-e", "HISTBOT_LOG_LEVEL=WARNING",
        *options, IMAGE,
    )  # fmt: skip


def state(name: str, field: str) -> str:
    return run("docker", "inspect", "-f", "{{" + field + "}}", name).stdout.strip()


async def wait_healthy(name: str, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        health = await asyncio.to_thread(
            run, "docker", "exec", name, "python", "-m", "bot.health", check=False
        )
        if health.returncode == 0:
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{name} never became healthy: {health.stderr.strip()}")


def owed(record: InteractionRecord) -> bool:
    return record.acked and record.ack_type == 5 and record.loading


async def stop_during_burst(standin: Discord, size: int) -> dict[str, Any]:
    """A burst of /ask; `docker stop` once some are answered and some owed."""
    name = "histbot-stop"
    container(standin, name, "-v", "histbot-bench-data:/data")
    await standin.wait_for_bot(timeout=120)
    healthy_after = await wait_healthy(name, 60)
    records = [
        await standin.send_slash("ask", question=QUESTIONS[i % len(QUESTIONS)]) for i in range(size)
    ]
    await standin.server.wait_until(
        lambda: (
            sum(r.acked and not r.loading for r in records) >= 3 and sum(map(owed, records)) >= 5
        ),
        60,
        "the burst half answered",
    )
    owed_at_stop = sum(map(owed, records))
    started = time.monotonic()
    stopped = await asyncio.to_thread(run, "docker", "stop", name, check=False)
    seconds = time.monotonic() - started
    await asyncio.sleep(1.0)
    result = {
        "burst": size,
        "healthy_after_s": round(healthy_after, 1),
        "owed_at_stop": owed_at_stop,
        "docker_stop_s": round(seconds, 2),
        "exit_code": int(state(name, ".State.ExitCode")),
        "stop_ok": stopped.returncode == 0,
        "acknowledged": sum(r.acked for r in records),
        "answered": sum(r.acked and not r.loading for r in records),
        "acknowledged_unanswered": sum(map(owed, records)),
        "never_acknowledged": sum(not r.acked for r in records),
    }
    run("docker", "rm", "-f", name, check=False)
    return result


async def read_only_root(standin: Discord) -> dict[str, Any]:
    """--read-only (only the /data volume writable): it starts and answers, as uid 10001."""
    name = "histbot-readonly"
    container(standin, name, "--read-only", "--tmpfs", "/tmp", "-v", "histbot-ro-data:/data")
    await standin.wait_for_bot(identifies=2, timeout=120)
    reply = await standin.slash("ask", question=QUESTIONS[0], timeout=30)
    uid = run("docker", "exec", name, "id", "-u").stdout.strip()
    run("docker", "stop", name, check=False)
    code = state(name, ".State.ExitCode")
    result = {"answers": bool(reply.embeds), "uid": uid, "exit_code": code}
    run("docker", "rm", "-f", name, check=False)
    return result


def root_owned_mount() -> dict[str, Any]:
    """A bind mount owned by root on /data: what the container says, and its exit code."""
    with tempfile.TemporaryDirectory(prefix="histbot-root-owned-") as folder:
        os.chmod(folder, 0o755)
        result = run(
            "docker", "run", "--rm", "-v", f"{folder}:/data",
            "-e", "DISCORD_TOKEN=x", IMAGE, check=False,
        )  # fmt: skip
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return {"exit_code": result.returncode, "stderr_lines": len(lines), "said": lines[-1:]}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    if shutil.which("docker") is None:
        raise SystemExit("docker is not installed (apt-get install docker.io; dockerd &)")
    if run("docker", "info", check=False).returncode != 0:
        raise SystemExit("no Docker engine is running (start it: dockerd &)")
    figures["base_seconds"] = round(make_base(), 1)
    seconds, size = build()
    figures["build_seconds"] = round(seconds, 1)
    figures["image_mb"] = round(size / 2**20, 1)
    standin = await Discord.start(StandinConfig(heartbeat_interval_ms=5000))
    try:
        figures["docker_stop"] = await stop_during_burst(standin, args.burst)
        figures["read_only"] = await read_only_root(standin)
    finally:
        await standin.stop()
        run("docker", "volume", "rm", "-f", "histbot-bench-data", "histbot-ro-data", check=False)
    figures["root_owned_mount"] = root_owned_mount()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=int, default=100, help="/ask in the burst (100)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    figures = asyncio.run(main_async(args))
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    stop = figures["docker_stop"]
    drained = not stop["acknowledged_unanswered"]
    ok = stop["exit_code"] == 0 and stop["docker_stop_s"] < 10 and drained
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
