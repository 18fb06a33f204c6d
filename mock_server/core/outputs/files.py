"""The result file behind a URL of a model other than gpt-image-1, rendered by its kind.

Images depend on the task (its id, index and prompt are drawn in), so they
are cached per task and index; videos and audio depend only on their shape,
so one encode serves every task of that shape. Each cache is bounded in bytes.
"""

from __future__ import annotations

from functools import partial

from ..models.outputs import OutputFile
from ..validation import SubmitRequest
from . import audio, image, video
from .cache import RenderCache

# One 4K PNG is ~1 MB; a 1080p, 15 s video ~1-2 MB; a 30 s track ~120 kB.
IMAGE_CACHE_BYTES = 64 * 1024 * 1024
MEDIA_CACHE_BYTES = 128 * 1024 * 1024
VIDEO_FPS = 2  # a still picture with a counter: low rates keep encodes short


class ResultFiles:
    """Renders and caches result files by kind; safe to call from many threads."""

    def __init__(self) -> None:
        self._images: RenderCache[tuple[str, int]] = RenderCache(IMAGE_CACHE_BYTES)
        self._videos: RenderCache[video.VideoShape] = RenderCache(MEDIA_CACHE_BYTES)
        self._tracks: RenderCache[audio.AudioShape] = RenderCache(MEDIA_CACHE_BYTES)

    def get(
        self, task_id: str, index: int, request: SubmitRequest, extension: str
    ) -> tuple[bytes, str] | None:
        """The bytes and media type of a task's `index`-th file, or None if the URL names none."""
        if not 0 <= index < len(request.outputs):
            return None
        output = request.outputs[index]
        if output.extension != extension:
            return None
        if output.kind == "video":
            return self._video(output, request.model), video.MEDIA_TYPE
        if output.kind == "audio":
            return self._track(output, index), audio.MEDIA_TYPE
        return self._image(task_id, index, request.prompt, output)

    def _image(
        self, task_id: str, index: int, prompt: str, output: OutputFile
    ) -> tuple[bytes, str]:
        width, height = _size(output)
        draw = partial(image.render, task_id, index, prompt, width, height, output.format)
        media_type = image.MEDIA_TYPES[image.image_format(output.format)]
        return self._images.get_or_render((task_id, index), draw), media_type

    def _video(self, output: OutputFile, model: str) -> bytes:
        width, height = _size(output)
        shape = video.VideoShape(width, height, _duration(output), VIDEO_FPS, label=model)
        return self._videos.get_or_render(shape, partial(video.render, shape))

    def _track(self, output: OutputFile, index: int) -> bytes:
        shape = audio.AudioShape(_duration(output), variant=index)
        return self._tracks.get_or_render(shape, partial(audio.render, shape))

    def clear(self) -> None:
        """Drop every cached file."""
        self._images.clear()
        self._videos.clear()
        self._tracks.clear()


def _size(output: OutputFile) -> tuple[int, int]:
    if output.width is None or output.height is None:
        raise ValueError(f"a {output.kind} output needs a size")
    return output.width, output.height


def _duration(output: OutputFile) -> int:
    if output.duration_s is None:
        raise ValueError(f"a {output.kind} output needs a duration")
    return output.duration_s
