"""Result images, served by the mock itself at the URLs in resultJson."""

from __future__ import annotations

from flask import Blueprint, Response

from ..core.errors import NotFound
from .context import service

bp = Blueprint("files", __name__)


@bp.get("/results/<task_id>/<int:index>.png")
def result_image(task_id: str, index: int) -> Response:
    """A result PNG; 404 once the task has no such image or its TTL has passed."""
    image = service().result_image(task_id, index)
    if image is None:
        raise NotFound("Result not found or expired")
    response = Response(image, status=200, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/results/<task_id>/<int:index>.<extension>")
def result_file(task_id: str, index: int, extension: str) -> Response:
    """Any other model's result (JPEG, WebP, MP4, MP3); 404 like an image's."""
    found = service().result_file(task_id, index, extension)
    if found is None:
        raise NotFound("Result not found or expired")
    response = Response(found[0], status=200, mimetype=found[1])
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
