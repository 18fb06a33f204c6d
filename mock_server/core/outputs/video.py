"""Result videos: real, playable H.264 MP4 files of the requested shape, via PyAV.

A video is a still, labelled picture (the model id and the shape) with a
counter that changes every second, at a low frame rate: enough for a client to
decode it, check its size and duration, and show something meaningful.

Encoding costs hundreds of milliseconds, so the bytes depend on the shape only
(width, height, duration, fps, label, audio track), never on the task: one
encode serves every task of that shape from a RenderCache keyed by VideoShape.
A task's identity lives in its result URL, not in the file.

The file is yuv420p with the moov atom first ("faststart"), so that browsers
play it while downloading. FFmpeg can only move the moov atom in a file it can
reopen, hence the temporary file. x264 runs on one thread: its output then
depends only on the input and the encoder's version, not on the machine's
core count, so a given av wheel gives the same bytes everywhere.
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

import av
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image, ImageDraw, ImageFont

from .image import draw_caption

MAX_SIDE = 4096
MAX_DURATION_S = 60.0
MAX_FPS = 30
MEDIA_TYPE = "video/mp4"
_X264: Mapping[str, str] = MappingProxyType({"preset": "ultrafast", "crf": "32", "threads": "1"})
_KEYFRAME_EVERY_S = 2  # lets a player seek without costing much on a still picture
_AUDIO_RATE = 44_100
_NAMED_RATIOS: Mapping[str, str] = MappingProxyType(
    {"landscape": "16:9", "portrait": "9:16", "square": "1:1"}
)


@dataclass(frozen=True, slots=True)
class VideoShape:
    """Everything a video's bytes depend on; the key of its cache entry."""

    width: int
    height: int
    duration_s: float
    fps: int = 2
    label: str = ""
    audio: bool = False

    def __post_init__(self) -> None:
        if not (0 < self.width <= MAX_SIDE and 0 < self.height <= MAX_SIDE):
            raise ValueError(f"video size {self.width}x{self.height} outside 1..{MAX_SIDE}")
        if self.width % 2 or self.height % 2:
            raise ValueError(f"video size {self.width}x{self.height} must be even (yuv420p)")
        if not 0 < self.duration_s <= MAX_DURATION_S:
            raise ValueError(f"duration {self.duration_s} s outside (0, {MAX_DURATION_S}]")
        if not 0 < self.fps <= MAX_FPS:
            raise ValueError(f"fps {self.fps} outside 1..{MAX_FPS}")

    @property
    def frame_count(self) -> int:
        """Frames in the file: the duration rounded to whole frames, at least one."""
        return max(1, round(self.duration_s * self.fps))


def frame_size(aspect_ratio: str, resolution: str) -> tuple[int, int]:
    """Pixel size for an aspect ratio ("16:9", "landscape") at a resolution ("720p").

    The resolution names the short side; the long side follows the ratio,
    rounded to an even number as H.264 in yuv420p requires.
    """
    ratio = _NAMED_RATIOS.get(aspect_ratio, aspect_ratio)
    try:
        across, down = (int(part) for part in ratio.split(":"))
        short = int(resolution.lower().removesuffix("p"))
    except ValueError:
        raise ValueError(f"cannot size a {aspect_ratio!r} video at {resolution!r}") from None
    if across <= 0 or down <= 0 or short <= 0:
        raise ValueError(f"cannot size a {aspect_ratio!r} video at {resolution!r}")
    if across >= down:
        return _even(short * across / down), _even(short)
    return _even(short), _even(short * down / across)


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def render(shape: VideoShape) -> bytes:
    """The MP4 bytes of a video of `shape` (encoded now; cache them by shape)."""
    with tempfile.TemporaryDirectory(prefix="apixo-mock-video-") as folder:
        path = Path(folder) / "video.mp4"
        _encode(shape, str(path))
        return path.read_bytes()


def _encode(shape: VideoShape, path: str) -> None:
    with av.open(path, "w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = container.add_stream("libx264", rate=shape.fps, options=dict(_X264))
        video.width, video.height, video.pix_fmt = shape.width, shape.height, "yuv420p"
        video.codec_context.time_base = Fraction(1, shape.fps)
        video.codec_context.gop_size = shape.fps * _KEYFRAME_EVERY_S
        audio = (
            container.add_stream("aac", rate=_AUDIO_RATE, layout="mono") if shape.audio else None
        )
        _encode_seconds(container, video, audio, shape)
        container.mux(video.encode(None))
        if audio is not None:
            container.mux(audio.encode(None))


def _encode_seconds(
    container: OutputContainer, video: VideoStream, audio: AudioStream | None, shape: VideoShape
) -> None:
    """Encode second by second, so that the two tracks come out interleaved."""
    base, font = _picture(shape), ImageFont.load_default(size=_scaled(160, shape))
    for second in range(math.ceil(shape.frame_count / shape.fps)):
        frame = _frame(base, f"{second // 60:02d}:{second % 60:02d}", font)
        first = second * shape.fps
        for number in range(first, min(first + shape.fps, shape.frame_count)):
            frame.pts = number  # the counter changes once a second: one conversion serves all
            container.mux(video.encode(frame))
        if audio is not None:
            _mux_silence(container, audio, second, shape.frame_count / shape.fps)


def _scaled(value: int, shape: VideoShape) -> int:
    return max(1, round(value * min(shape.width, shape.height) / 1024))


def _picture(shape: VideoShape) -> Image.Image:
    digest = hashlib.sha256(shape.label.encode()).digest()
    background = (digest[0] // 2 + 40, digest[1] // 2 + 40, digest[2] // 2 + 40)
    image = Image.new("RGB", (shape.width, shape.height), background)
    details = f"{shape.width}x{shape.height}  {shape.duration_s:g} s  {shape.fps} fps"
    if shape.audio:
        details += "  silent audio"
    scale = min(shape.width, shape.height) / 1024
    draw_caption(ImageDraw.Draw(image), f"apixo-mock  {shape.label}", details, *image.size, scale)
    return image


def _frame(
    base: Image.Image, counter: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont
) -> VideoFrame:
    image = base.copy()
    centre = (image.width // 2, image.height // 3)
    ImageDraw.Draw(image).text(centre, counter, fill="white", font=font, anchor="mm")
    # PyAV's stub leaves from_image untyped; it returns an rgb24 VideoFrame.
    rgb: VideoFrame = VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
    return rgb.reformat(format="yuv420p")


def _mux_silence(
    container: OutputContainer, audio: AudioStream, second: int, duration_s: float
) -> None:
    """Encode the `second`-th second of silence (less at the end, none past it)."""
    start = second * _AUDIO_RATE
    samples = min(_AUDIO_RATE, round(duration_s * _AUDIO_RATE) - start)
    if samples <= 0:
        return
    frame = AudioFrame(format="fltp", layout="mono", samples=samples)
    frame.planes[0].update(bytes(frame.planes[0].buffer_size))
    frame.sample_rate, frame.pts = _AUDIO_RATE, start
    container.mux(audio.encode(frame))
