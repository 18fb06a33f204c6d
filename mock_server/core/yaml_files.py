"""Reading YAML files, with errors that name the file (settings and scenario files alike)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


def read_yaml(path: Path) -> Any:
    """A YAML file's document, or `ConfigError` naming the file and what is wrong with it."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read the file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "", f"not valid YAML ({exc})") from None
