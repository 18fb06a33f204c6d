"""Result files by kind: images (PNG, JPEG, WebP), videos (H.264 MP4), audio (MP3).

Each kind renders deterministic bytes of the requested shape; RenderCache keeps
them so that an expensive shape (a video, a long track) is encoded once.
"""

from .cache import RenderCache

__all__ = ("RenderCache",)
