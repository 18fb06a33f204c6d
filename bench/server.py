"""Throughput of the served mock beside its ceiling and its peers, all in one run, with wrk.

    python bench/server.py [--duration 10] [--warmup 3] [--targets bare,mock,prism,wiremock]
                           [--no-write]

Targets, each on a free loopback port:
- bare: a Flask app answering canned bodies (bench/bare_app.py) under the same
  server, threads and settings as `apixo-mock serve` (the ceiling for any Flask mock);
- mock: `apixo-mock serve` with its defaults, only the limits raised out of the way
  (`mock@PATH` runs another build's `apixo-mock` in the same run, for before/after figures);
- prism, wiremock: the peers a user would pick instead (see bench/peers.py).

Status reads rotate over a pending, a processing and a finished task; submits
rotate over the smallest valid body and a typical one. wrk runs 2 threads and
50 connections after a warm-up. Server CPU per request is the CPU time of the
server's whole process tree during the measured run, divided by its requests.
Compare ratios from one run only: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import peers
import requests

from mock_server.settings import Settings

ROOT = Path(__file__).parents[1]
AUTH = "Bearer bench-key-0001"
SMALL_BODY = {"input": {"mode": "gpt-image-1", "prompt": "a cat"}}
TYPICAL_BODY = {
    "request_type": "async",
    "provider": "auto",
    "input": {
        "mode": "gpt-image-1",
        "prompt": "A watercolour painting of a lighthouse on a rocky coast at dusk, "
        "seagulls circling, warm light in the windows, soft fog rolling in from the sea",
        "aspect_ratio": "3:2",
        "num_images": 2,
        "image_urls": [
            "https://example.com/reference-one.png",
            "https://example.com/reference-two.jpg",
        ],
    },
}
STATUS_PATH = "/api/v1/statusTask/gpt-image-1"
SUBMIT_PATH = "/api/v1/generateTask/gpt-image-1"
CANNED_IDS = ("task_12345678",)
DEFAULT_TARGETS = "bare,mock,prism,wiremock"


@dataclass(frozen=True)
class Run:
    """One wrk run against one endpoint of one target."""

    rps: float
    p50: str
    p99: str
    errors: int
    cpu_us: float
    busy: float = 0.0  # the share of all the machine's cores busy meanwhile (0..1)
    store_us: float | None = None  # the shared store's (Redis's) CPU per request, if any


def free_port() -> int:
    """A port the OS says is free on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, deadline_s: float = 60.0) -> float:
    """Seconds until something accepts connections on the port."""
    start = time.perf_counter()
    while time.perf_counter() - start < deadline_s:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port} within {deadline_s} s")


@contextmanager
def serving(command: list[str], port: int) -> Iterator[int]:
    """Run a server until the block ends; yields its pid."""
    # The bare app is imported from bench/; an installed apixo-mock (this build or
    # another's, mock@PATH) must import its own package, never this checkout's.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "bench") + os.pathsep + str(ROOT)}
    if "apixo-mock" in Path(command[0]).name:
        env.pop("PYTHONPATH")
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    ) as process:
        try:
            wait_ready(port)
            yield process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def machine_ticks() -> tuple[int, int]:
    """(busy, all) CPU ticks of every core since boot, from /proc/stat."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by `pid` and every live descendant."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(entry.name)
        children.setdefault(int(fields[1]), []).append(child)
        ticks[child] = int(fields[11]) + int(fields[12])
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += ticks.get(current, 0)
        todo.extend(children.get(current, []))
    return total / os.sysconf("SC_CLK_TCK")


def rotating_script(
    directory: str, name: str, method: str, paths: list[str], bodies: list[str]
) -> str:
    """A wrk Lua script that sends the given paths (and bodies) in turn."""
    quoted_paths = ", ".join(json.dumps(p) for p in paths)
    quoted_bodies = ", ".join(json.dumps(b) for b in bodies) or '""'
    lua = f"""
local paths = {{{quoted_paths}}}
local bodies = {{{quoted_bodies}}}
local i = 0
wrk.headers["Authorization"] = "{AUTH}"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  local body = nil
  if "{method}" == "POST" then body = bodies[(i % #bodies) + 1] end
  return wrk.format("{method}", paths[(i % #paths) + 1], nil, body)
end
"""
    path = Path(directory) / f"{name}.lua"
    path.write_text(lua)
    return str(path)


def wrk(
    base: str, script: str, duration: int, pid: int, threads: int = 2, connections: int = 50
) -> Run:
    """One measured wrk run (2 threads, 50 connections) with the server's CPU time."""
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script, base
    ]  # fmt: skip
    cpu_before, ticks_before = tree_cpu_s(pid), machine_ticks()
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = tree_cpu_s(pid) - cpu_before
    busy, ticks = (now - then for now, then in zip(machine_ticks(), ticks_before, strict=True))
    rate = float(_find(r"Requests/sec:\s+([\d.]+)", output))
    total = int(_find(r"(\d+) requests in", output))
    distribution = output.split("Latency Distribution", 1)[-1]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return Run(
        rate,
        _find(r"50%\s+(\S+)", distribution),
        _find(r"99%\s+(\S+)", distribution),
        errors,
        cpu / max(total, 1) * 1e6,
        busy / max(ticks, 1),
    )


def _find(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise RuntimeError(f"wrk output lacks {pattern!r}:\n{text}")
    return found.group(1)


def mock_task_ids(base: str) -> list[str]:
    """A finished, a processing and a pending task on a frozen mock clock."""
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}

    def submit() -> str:
        answer = requests.post(base + SUBMIT_PATH, json=SMALL_BODY, headers=headers, timeout=5)
        return str(answer.json()["data"]["taskId"])

    admin = base + "/__admin"
    requests.post(admin + "/clock/freeze", json={}, timeout=5)
    finished = submit()
    requests.post(admin + "/clock/advance", json={"ms": 600_000}, timeout=5)
    processing = submit()
    requests.post(admin + f"/tasks/{processing}/state", json={"state": "processing"}, timeout=5)
    pending = submit()
    return [finished, processing, pending]


def target_command(name: str, port: int, threads: int | None, scratch: Path) -> list[str]:
    """How to start one target on `port` (`threads` None: serve's default, for both Pythons)."""
    if name == "mock" or name.startswith("mock@"):
        # mock@/other/venv/bin/apixo-mock: another build of the mock, measured in the same run.
        binary = name.partition("@")[2] or str(Path(sys.executable).parent / "apixo-mock")
        limits = ["--rpm", "1000000000", "--max-unfinished", "1000000000"]
        chosen = ["--threads", str(threads)] if threads is not None else []
        return [binary, "serve", "--port", str(port), *limits, *chosen]
    if name in ("bare", "bare-2w"):
        # bare-2w: two granian workers, what a Flask app gains from a second one here.
        workers = ["2"] if name == "bare-2w" else []
        chosen = [str(threads or Settings().threads)] if threads is not None or workers else []
        script = str(ROOT / "bench" / "bare_serve.py")
        return [sys.executable, script, str(port), *chosen, *workers]
    if name == "prism":
        return peers.prism_command(port)
    if name == "wiremock":
        return peers.wiremock_command(port, scratch / "wiremock")
    raise ValueError(f"unknown target {name!r}")


def measure(name: str, args: argparse.Namespace, scratch: Path) -> dict[str, Run]:
    """Status and submit runs against one target, each after a warm-up."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(target_command(name, port, args.threads, scratch), port) as pid:
        ids = mock_task_ids(base) if name.startswith("mock") else list(CANNED_IDS)
        status_paths = [f"{STATUS_PATH}?taskId={task_id}" for task_id in ids]
        bodies = [json.dumps(SMALL_BODY), json.dumps(TYPICAL_BODY)]
        label = re.sub(r"\W+", "-", name)
        status = rotating_script(str(scratch), f"{label}-status", "GET", status_paths, [])
        submit = rotating_script(str(scratch), f"{label}-submit", "POST", [SUBMIT_PATH], bodies)
        results = {}
        for endpoint, script in (("status", status), ("submit", submit)):
            wrk(base, script, args.warmup, pid)
            results[endpoint] = wrk(base, script, args.duration, pid)
            print(name, endpoint, results[endpoint], flush=True)
    return results


def table(results: dict[str, dict[str, Run]]) -> list[str]:
    """The results as Markdown rows, with ratios to the bare app and to each peer."""
    lines = [
        "| target | endpoint | req/s | p50 | p99 | errors | server CPU µs/req | x bare | x prism"
        " | x wiremock |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        for endpoint, run in runs.items():
            ratios = [
                _ratio(run, results.get(other, {}).get(endpoint))
                for other in ("bare", "prism", "wiremock")
            ]
            cells = [
                name,
                endpoint,
                f"{run.rps:,.0f}",
                run.p50,
                run.p99,
                str(run.errors),
                f"{run.cpu_us:,.0f}",
                *ratios,
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _ratio(run: Run, other: Run | None) -> str:
    return f"{run.rps / other.rps:.2f}" if other is not None and other.rps else "-"


def machine() -> list[str]:
    """What the figures were measured on."""
    cpu = "?"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    found = peers.versions()
    return [
        f"- machine: {platform.machine()}, {os.cpu_count()} cores ({cpu}), {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()}, Flask {version('flask')}, granian "
        f"{version('granian')}, {(wrk_version.stdout or wrk_version.stderr).splitlines()[0]}",
        f"- Prism {found.get('@stoplight/prism-cli', '-')}, WireMock {found.get('wiremock', '-')}"
        f" on {found['java']}",
    ]


def write_report(path: Path, results: dict[str, dict[str, Run]], args: argparse.Namespace) -> None:
    """docs/benchmarks.md: the table, the machine, the versions and the command."""
    targets = "" if args.targets == DEFAULT_TARGETS else f" --targets {args.targets}"
    command = f'make bench ARGS="server --duration {args.duration} --warmup {args.warmup}{targets}"'
    text = [
        "# Benchmarks",
        "",
        "Written by `bench/server.py` (part of `make bench`); every figure comes from one run on",
        "one machine, so compare the ratios, not the absolute numbers, with other runs.",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `{command}`:",
        f"wrk 2 threads, 50 connections, {args.duration} s after a {args.warmup} s warm-up,"
        " loopback.",
        "",
        *machine(),
        "",
        *table(results),
        "",
        "- bare: canned bodies from a Flask app under the same granian settings and threads as",
        "  `apixo-mock serve` (the ceiling for a mock that answers through Flask; the mock",
        "  answers submit, status and balance below Flask, so it can pass it).",
        "- mock: `apixo-mock serve` defaults (threads, access log on), with `--rpm` and",
        "  `--max-unfinished` raised; `mock@PATH`: the same with another build's `apixo-mock`.",
        "  Status reads rotate over a finished, a processing and a pending task; submits over",
        "  the smallest valid body and a typical one (2 images, 3:2, two reference URLs).",
        "- prism: `prism mock` on schemas/openapi.yaml (stateless; validates requests).",
        "- wiremock: the standalone jar with two stubs returning the canned bodies.",
        "",
    ]
    path.write_text("\n".join(text) + _later_sections(path))


def _later_sections(path: Path) -> str:
    """The file's sections after this table (`## ...`, e.g. bench/store.py's), kept as they are."""
    old = path.read_text("utf-8") if path.exists() else ""
    start = old.find("\n## ")
    return "" if start < 0 else old[start:]


def main() -> int:
    """Measure every target in one run and print (and optionally write) the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="threads of every Python target (serve's default)"
    )
    parser.add_argument("--targets", default=DEFAULT_TARGETS)
    parser.add_argument("--write", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", dest="write", action="store_const", const=None)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    targets = args.targets.split(",")
    if {"prism", "wiremock"} & set(targets):
        peers.install()
    results: dict[str, dict[str, Run]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for name in targets:
            results[name] = measure(name, args, Path(directory))
    print("\n".join(table(results)))
    if args.write:
        write_report(args.write, results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
