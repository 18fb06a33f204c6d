"""What each output kind costs: milliseconds per first render (a cache miss) and bytes.

Each case renders a shape the process has not rendered before (a new taskId
or label), so nothing is cached; `--repeat` renders take the median. Each kind
is warmed up once first (imports, font loading, encoder set-up): that is paid
once per process, not once per output.

    .venv/bin/python bench/outputs.py [--repeat 3]

Prints a table of medians: wall time (what a client waits for a first fetch,
inflated on a busy machine) and CPU time (what the render costs; every encoder
runs on one thread). It measures and never fails a build.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from mock_server.core.outputs import audio, image, video

PROMPT = "a lighthouse at dusk, waves breaking on the rocks below, oil painting"


@dataclass(frozen=True)
class Case:
    """One output to time: a kind, a shape and how to render it afresh (n = run number)."""

    kind: str
    shape: str
    render: Callable[[int], bytes]


def image_case(fmt: str, side: int) -> Case:
    """A square image of `side` pixels in `fmt`; each run is another task."""
    return Case(
        f"image/{fmt}",
        f"{side}x{side}",
        lambda n: image.render(f"task_bench{n:08d}", 0, PROMPT, side, side, fmt),
    )


def video_case(resolution: str, seconds: int) -> Case:
    """A 16:9 MP4 at `resolution`, `seconds` long; each run is another label."""
    width, height = video.frame_size("16:9", resolution)
    return Case(
        "video/mp4",
        f"{width}x{height} {seconds} s",
        lambda n: video.render(video.VideoShape(width, height, seconds, label=f"bench-{n}")),
    )


def audio_case(seconds: int) -> Case:
    """An MP3 `seconds` long; each run is another variant."""
    return Case(
        "audio/mpeg", f"{seconds} s", lambda n: audio.render(audio.AudioShape(seconds, variant=n))
    )


CASES = (
    *(image_case(fmt, side) for side in (1024, 2048) for fmt in ("png", "jpeg", "webp")),
    video_case("720p", 5),
    video_case("1080p", 8),
    video_case("1080p", 10),
    audio_case(30),
    audio_case(120),
)
WARM_UPS: tuple[Callable[[], bytes], ...] = (
    lambda: image.render("task_warm", 0, "warm", 64, 64, "png"),
    lambda: image.render("task_warm", 0, "warm", 64, 64, "jpeg"),
    lambda: image.render("task_warm", 0, "warm", 64, 64, "webp"),
    lambda: video.render(video.VideoShape(64, 64, 1, label="warm")),
    lambda: audio.render(audio.AudioShape(1)),
)


def measure(case: Case, repeat: int) -> tuple[float, float, int]:
    """Median wall and CPU milliseconds of `repeat` fresh renders, and the last one's size."""
    wall, cpu, size = [], [], 0
    for n in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        size = len(case.render(n))
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return statistics.median(wall), statistics.median(cpu), size


def main(argv: list[str] | None = None) -> int:
    """Time every case and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    for warm_up in WARM_UPS:
        warm_up()
    print(f"{'kind':<12} {'shape':<16} {'wall ms':>8} {'CPU ms':>8} {'bytes':>10}")
    for case in CASES:
        wall, cpu, size = measure(case, args.repeat)
        print(f"{case.kind:<12} {case.shape:<16} {wall:>8.0f} {cpu:>8.0f} {size:>10,}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
