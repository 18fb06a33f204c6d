"""Result videos: H.264 MP4s that a real decoder opens, of the requested shape and length."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from typing import Any

import av
import pytest

from mock_server.core.outputs.video import VideoShape, frame_size, render

SMALL = VideoShape(width=320, height=180, duration_s=3, fps=2, label="sora-2")


@dataclass(frozen=True)
class Probe:
    """What a decoder says about an MP4."""

    codec: str
    pix_fmt: str | None
    size: tuple[int, int]
    duration_s: float
    frames: int
    audio: tuple[str, float] | None


def probe(data: bytes) -> Probe:
    """Open the file with FFmpeg and decode every frame of every track."""
    with av.open(io.BytesIO(data)) as container:
        assert container.duration is not None
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        audio = None
        if container.streams.audio:
            track = container.streams.audio[0]
            container.seek(0)
            samples = sum(frame.samples for frame in container.decode(track))
            audio = (track.codec_context.name, samples / track.rate)
        return Probe(
            codec=video.codec_context.name,
            pix_fmt=video.codec_context.pix_fmt,
            size=(video.width, video.height),
            duration_s=container.duration / av.time_base,
            frames=frames,
            audio=audio,
        )


@pytest.fixture(scope="module")
def small_video() -> bytes:
    """One small render shared by the module's checks (encoding is the slow part)."""
    return render(SMALL)


def test_small_video_is_h264_of_the_requested_shape(small_video: bytes) -> None:
    found = probe(small_video)
    assert (found.codec, found.pix_fmt, found.size) == ("h264", "yuv420p", (320, 180))
    assert found.duration_s == pytest.approx(3, abs=1 / SMALL.fps)
    assert found.frames == SMALL.frame_count == 6
    assert found.audio is None


def test_moov_comes_before_mdat_so_browsers_play_while_downloading(small_video: bytes) -> None:
    assert 0 < small_video.find(b"moov") < small_video.find(b"mdat")


def test_the_counter_changes_every_second(small_video: bytes) -> None:
    with av.open(io.BytesIO(small_video)) as container:
        planes = [bytes(frame.planes[0]) for frame in container.decode(video=0)]
    assert planes[0] != planes[2] != planes[4]


def test_same_shape_gives_the_same_bytes(small_video: bytes) -> None:
    assert render(SMALL) == small_video


def test_another_label_gives_another_video(small_video: bytes) -> None:
    other = VideoShape(width=320, height=180, duration_s=3, fps=2, label="veo-3-1")
    assert render(other) != small_video


def test_realistic_720p_video_has_its_size_and_duration() -> None:
    shape = VideoShape(width=1280, height=720, duration_s=4, fps=2, label="sora-2")
    found = probe(render(shape))
    assert (found.codec, found.size, found.frames) == ("h264", (1280, 720), 8)
    assert found.duration_s == pytest.approx(4, abs=1 / shape.fps)


def test_audio_flag_adds_a_silent_aac_track_as_long_as_the_video() -> None:
    shape = VideoShape(width=160, height=90, duration_s=2.5, fps=2, label="veo-3-1", audio=True)
    found = probe(render(shape))
    assert found.audio is not None
    codec, seconds = found.audio
    assert codec == "aac"
    assert seconds == pytest.approx(found.duration_s, abs=0.05)
    assert found.duration_s == pytest.approx(2.5, abs=1 / shape.fps)


@pytest.mark.parametrize(
    ("aspect_ratio", "resolution", "size"),
    [
        ("16:9", "720p", (1280, 720)),
        ("9:16", "1080p", (1080, 1920)),
        ("1:1", "480p", (480, 480)),
        ("landscape", "720p", (1280, 720)),
        ("portrait", "480p", (480, 854)),
        ("21:9", "1080P", (2520, 1080)),
    ],
)
def test_frame_size_follows_ratio_and_short_side(
    aspect_ratio: str, resolution: str, size: tuple[int, int]
) -> None:
    assert frame_size(aspect_ratio, resolution) == size


@pytest.mark.parametrize(
    ("aspect_ratio", "resolution"), [("wide", "720p"), ("16:0", "720p"), ("16:9", "hd")]
)
def test_frame_size_refuses_what_it_cannot_read(aspect_ratio: str, resolution: str) -> None:
    with pytest.raises(ValueError, match="cannot size"):
        frame_size(aspect_ratio, resolution)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"width": 321}, "even"),
        ({"height": 0}, "outside"),
        ({"duration_s": 0}, "duration"),
        ({"duration_s": 61}, "duration"),
        ({"fps": 0}, "fps"),
    ],
)
def test_impossible_shapes_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(SMALL, **fields)
