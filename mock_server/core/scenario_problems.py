"""What is wrong with a scenario document: every problem, where it is, and why.

`scenarios validate` prints them all, in file order, each with its line; the
admin API answers with them all in `data.errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import ConfigError

JsonPath = tuple[str | int, ...]
Finding = tuple[JsonPath, str]  # where in the document, and why


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: the field (`rules[2] (slow).then.fail.code`), why, and its line if known."""

    field: str
    why: str
    line: int | None = None

    def text(self, source: str) -> str:
        """`file:line: field: why`, as compilers print it."""
        where = source if self.line is None else f"{source}:{self.line}"
        return f"{where}: {self.field}: {self.why}"


class ScenarioInvalid(ConfigError):
    """Every problem of one scenario document, in document order; the first is `field`/`why`."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        super().__init__(source, problems[0].field, problems[0].why)
        self.problems = tuple(problems)
        self.args = ("\n".join(problem.text(source) for problem in self.problems),)


def line_finder(path: Path) -> Callable[[JsonPath], int | None]:
    """The 1-based line of a YAML file where a document path lies (its last node that exists)."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return lambda at: None

    def line(at: JsonPath) -> int | None:
        node = root
        for part in at:
            child = _child(node, part)
            if child is None:
                break
            node = child
        return None if node is None else node.start_mark.line + 1

    return line


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next(
            (
                value
                for key, value in node.value
                if isinstance(key, yaml.ScalarNode) and key.value == part
            ),
            None,
        )
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        child: yaml.Node = node.value[part]
        return child
    return None
