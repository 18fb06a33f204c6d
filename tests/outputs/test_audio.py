"""Result audio: MP3s that a real decoder opens, of the requested length."""

from __future__ import annotations

import array
import io

import av
import pytest

from mock_server.core.outputs.audio import SAMPLE_RATE, AudioShape, render


def probe(data: bytes) -> tuple[str, str, int, float, float]:
    """Format, codec, rate, container duration and decoded seconds, as FFmpeg reads them."""
    with av.open(io.BytesIO(data)) as container:
        assert container.duration is not None
        track = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(track))
        return (
            container.format.name,
            track.codec_context.codec.canonical_name,
            track.rate,
            container.duration / av.time_base,
            samples / track.rate,
        )


@pytest.mark.parametrize("seconds", [0.5, 2.5, 30])
def test_track_is_an_mp3_of_the_requested_length(seconds: float) -> None:
    fmt, codec, rate, duration, decoded = probe(render(AudioShape(seconds)))
    assert (fmt, codec, rate) == ("mp3", "mp3", SAMPLE_RATE)
    assert duration == pytest.approx(seconds, abs=0.1)
    assert decoded == pytest.approx(seconds, abs=0.1)


def test_track_is_mono() -> None:
    with av.open(io.BytesIO(render(AudioShape(1)))) as container:
        assert container.streams.audio[0].codec_context.layout.name == "mono"


def test_track_is_a_quiet_tone_not_silence() -> None:
    peak = 0.0
    with av.open(io.BytesIO(render(AudioShape(1)))) as container:
        for frame in container.decode(audio=0):
            assert frame.format.name == "fltp"
            samples = array.array("f", bytes(frame.planes[0])[: frame.samples * 4])
            peak = max(peak, *map(abs, samples))
    assert 0.05 < peak < 0.2  # the tone's amplitude is 3000 / 32768, about 0.09


def test_same_shape_gives_the_same_bytes() -> None:
    assert render(AudioShape(2, variant=1)) == render(AudioShape(2, variant=1))


def test_another_variant_sounds_different() -> None:
    assert render(AudioShape(2, variant=0)) != render(AudioShape(2, variant=1))


@pytest.mark.parametrize("seconds", [0, -1, 601])
def test_impossible_duration_is_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match="duration"):
        AudioShape(seconds)
