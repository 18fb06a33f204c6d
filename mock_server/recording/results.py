"""Result files of a recorded success, downloaded while their URLs still work (15 days)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import urllib3

log = logging.getLogger("apixo_mock.record")

_EXTENSIONS = MappingProxyType(
    {
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "image/webp": ".webp",
        "video/mp4": ".mp4",
        "audio/mpeg": ".mp3",
    }
)


def result_urls(body: Any) -> list[str]:
    """The resultUrls of a status envelope of a successful task (empty otherwise)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or data.get("state") != "success":
        return []
    try:
        result = json.loads(str(data.get("resultJson")))
    except ValueError:
        return []
    urls = result.get("resultUrls") if isinstance(result, dict) else None
    return [str(url) for url in urls] if isinstance(urls, list) else []


def download_results(
    http: urllib3.PoolManager, body: Any, task_id: str, folder: Path
) -> list[Path]:
    """Save each result file as `<taskId>-<n><ext>`; a failed download is logged, not raised."""
    saved = []
    for number, url in enumerate(result_urls(body), start=1):
        try:
            answer = http.request("GET", url, timeout=60.0, preload_content=True)
        except urllib3.exceptions.HTTPError as exc:
            log.warning("result %s not downloaded: %s", url, exc)
            continue
        if answer.status != 200:
            log.warning("result %s not downloaded: HTTP %s", url, answer.status)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{task_id}-{number}{_extension(url, answer.headers.get('Content-Type'))}"
        path.write_bytes(answer.data)
        saved.append(path)
    return saved


def _extension(url: str, content_type: str | None) -> str:
    """The file extension by content type, else by the URL's own suffix."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in _EXTENSIONS:
        return _EXTENSIONS[kind]
    suffix = Path(urlsplit(url).path).suffix
    return suffix if 1 < len(suffix) <= 5 else ".bin"
