"""Result images: the right size per aspect ratio, the same bytes every time, a small cache."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mock_server.core import results
from mock_server.core.results import ResultCache, image_size, render_png

TASK = "task_00000000cafebabe"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("aspect_ratio", "size"),
    [("1:1", (1024, 1024)), ("3:2", (1536, 1024)), ("2:3", (1024, 1536))],
)
def test_rendered_png_has_gpt_image_1s_size(aspect_ratio: str, size: tuple[int, int]) -> None:
    data = render_png(TASK, 0, "a lighthouse at dusk", aspect_ratio)
    assert data.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == size
    assert image_size(aspect_ratio) == size


def test_same_task_and_index_give_the_same_bytes() -> None:
    assert render_png(TASK, 1, "p", "1:1") == render_png(TASK, 1, "p", "1:1")


def test_another_index_gives_another_image() -> None:
    assert render_png(TASK, 0, "p", "1:1") != render_png(TASK, 1, "p", "1:1")


def test_another_task_gives_another_image() -> None:
    assert render_png(TASK, 0, "p", "1:1") != render_png("task_0000000000000001", 0, "p", "1:1")


def test_unknown_aspect_ratio_has_no_size() -> None:
    with pytest.raises(KeyError):
        image_size("16:9")


class CountingRenderer:
    """Stands in for render_png: counts renders, returns distinct small bytes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, task_id: str, index: int, prompt: str, aspect_ratio: str) -> bytes:
        self.calls.append((task_id, index))
        return f"{task_id}:{index}:{len(self.calls)}".encode()


@pytest.fixture
def renderer(monkeypatch: pytest.MonkeyPatch) -> CountingRenderer:
    counting = CountingRenderer()
    monkeypatch.setattr(results, "render_png", counting)
    return counting


def test_cache_renders_once_and_returns_the_same_bytes(renderer: CountingRenderer) -> None:
    cache = ResultCache(capacity=4)
    first = cache.get_or_render(TASK, 0, "p", "1:1")
    assert cache.get_or_render(TASK, 0, "p", "1:1") == first
    assert renderer.calls == [(TASK, 0)]


def test_cache_evicts_the_least_recently_used_past_capacity(renderer: CountingRenderer) -> None:
    cache = ResultCache(capacity=2)
    cache.get_or_render(TASK, 0, "p", "1:1")
    cache.get_or_render(TASK, 1, "p", "1:1")
    cache.get_or_render(TASK, 0, "p", "1:1")  # index 0 is now the most recent
    cache.get_or_render(TASK, 2, "p", "1:1")  # evicts index 1
    cache.get_or_render(TASK, 0, "p", "1:1")
    cache.get_or_render(TASK, 1, "p", "1:1")
    assert renderer.calls == [(TASK, 0), (TASK, 1), (TASK, 2), (TASK, 1)]


def test_cache_clear_forces_a_fresh_render(renderer: CountingRenderer) -> None:
    cache = ResultCache()
    cache.get_or_render(TASK, 0, "p", "1:1")
    cache.clear()
    cache.get_or_render(TASK, 0, "p", "1:1")
    assert len(renderer.calls) == 2


def test_cache_serves_real_renders_unchanged() -> None:
    cache = ResultCache(capacity=1)
    assert cache.get_or_render(TASK, 0, "p", "2:3") == render_png(TASK, 0, "p", "2:3")
