"""Result audio: real MP3 files of a requested length, encoded with PyAV's LAME.

The track is a quiet, two-note tone (mono, 22.05 kHz, 32 kbit/s CBR): any
decoder opens it and reports its duration (LAME's Xing header carries the
exact sample count). A variant shifts the notes, so that the two tracks of a
suno task sound different. Encoding a long track takes a while, so its bytes
depend only on (duration, variant): cache them in a RenderCache keyed by
AudioShape; the task's identity lives in its URL, not in the file.
"""

from __future__ import annotations

import array
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import av

MAX_DURATION_S = 600.0
MEDIA_TYPE = "audio/mpeg"
SAMPLE_RATE = 22_050
_BIT_RATE = 32_000
# LAME's fastest quality setting: this is a test tone
_LAME: Mapping[str, str] = MappingProxyType({"compression_level": "9"})
_NOTES_HZ = (220, 262, 330, 392)
_AMPLITUDE = 3000  # about -21 dBFS: audible, not loud


@dataclass(frozen=True, slots=True)
class AudioShape:
    """Everything a track's bytes depend on; the key of its cache entry."""

    duration_s: float
    variant: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.duration_s <= MAX_DURATION_S:
            raise ValueError(f"duration {self.duration_s} s outside (0, {MAX_DURATION_S}]")

    @property
    def samples(self) -> int:
        """Samples in the track: the duration at SAMPLE_RATE, at least one."""
        return max(1, round(self.duration_s * SAMPLE_RATE))


def render(shape: AudioShape) -> bytes:
    """The MP3 bytes of a track of `shape` (encoded now; cache them by shape)."""
    pcm = _pcm(shape)
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream(
            "libmp3lame", rate=SAMPLE_RATE, layout="mono", options=dict(_LAME)
        )
        stream.bit_rate = _BIT_RATE
        for start in range(0, shape.samples, SAMPLE_RATE):
            chunk = pcm[start * 2 : (start + SAMPLE_RATE) * 2]
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(chunk) // 2)
            frame.planes[0].update(chunk)
            frame.sample_rate, frame.pts = SAMPLE_RATE, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def _pcm(shape: AudioShape) -> bytes:
    """Signed 16-bit samples: one second of tone repeated to the track's length."""
    second = _one_second(shape.variant)
    repeats = shape.samples // SAMPLE_RATE + 1
    return (second * repeats)[: shape.samples * 2]


def _one_second(variant: int) -> bytes:
    """Two half-second notes, each a whole number of cycles, so repeats join without a click."""
    half = SAMPLE_RATE // 2
    base = _NOTES_HZ[variant % len(_NOTES_HZ)]
    samples = array.array("h")
    for hertz in (base, base * 5 // 4):
        even = hertz // 2 * 2  # an even frequency completes whole cycles in half a second
        step = 2 * math.pi * even / SAMPLE_RATE
        samples.extend(round(_AMPLITUDE * math.sin(step * n)) for n in range(half))
    return samples.tobytes()
