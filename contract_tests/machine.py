"""A Hypothesis state machine that interleaves submits, polls, foreign reads and clock moves.

After every read it checks what a single test cannot: that across any
interleaving, states only move forward, terminal bodies never change, and
another key never sees a task. Bind it to a target with `machine_for(world)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, multiple, precondition, rule

from .budget import Budget, largest_count
from .checks import check_error, check_result_count, submitted_task_id
from .client import AdminApi, ApiClient
from .models import ModelCase, units
from .polling import Poller, TaskRecord
from .strategies import CALLBACK_SINK, aspect_ratio, image_count, valid_bodies


@dataclass(frozen=True, slots=True)
class Bodies:
    """What the machine submits for a model other than gpt-image-1: bodies drawn from its
    pack's schemas, each costing its price rule in budget images and giving its outputs."""

    model: ModelCase
    price: Any  # --apixo-price: USD per budget image

    def cost(self, body: dict[str, Any]) -> int:
        """Budget images the body costs."""
        return units(self.model.cost_micros(body), self.price)

    def count(self, body: dict[str, Any]) -> int:
        """Result URLs a success gives."""
        return len(self.model.outputs(body))


@dataclass(frozen=True, slots=True)
class World:
    """Everything the machine talks to."""

    api: ApiClient
    other_api: ApiClient | None
    admin: AdminApi | None
    poller: Poller
    budget: Budget
    callback_url: str
    pause_s: float  # real time a "clock move" waits when there is no admin clock
    alias: bool = True  # draw nVariants too (not where the target may speak that dialect)
    pack: Bodies | None = None  # another model's bodies; None: gpt-image-1's valid_bodies


class TaskMachine(RuleBasedStateMachine):
    """Tasks as the API shows them, read in any order at any time."""

    world: ClassVar[World]
    tasks = Bundle("tasks")

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, TaskRecord] = {}

    @precondition(lambda self: self.world.budget.remaining >= 1)
    @rule(target=tasks, data=st.data())
    def submit(self, data: st.DataObject) -> Any:
        """A valid body the budget can pay for: 200 with a taskId."""
        if self.world.pack is not None:
            return self._submit_pack(data, self.world.pack)
        cap = largest_count(min(4, self.world.budget.remaining))
        body: dict[str, Any] = data.draw(
            valid_bodies(
                max_images=cap,
                callback_url=self.world.callback_url,
                extras=False,
                alias=self.world.alias,
            )
        )
        images = image_count(body)
        assert self.world.budget.take(images)
        task_id = submitted_task_id(self.world.api.submit(body))
        self.records[task_id] = TaskRecord(task_id, images, aspect_ratio(body))
        return task_id

    def _submit_pack(self, data: st.DataObject, pack: Bodies) -> Any:
        body: dict[str, Any] = data.draw(pack.model.bodies())
        if "callback_url" in body:
            body["callback_url"] = self.world.callback_url or CALLBACK_SINK
        if not self.world.budget.take(pack.cost(body)):
            return multiple()  # too dear for what is left: no task
        task_id = submitted_task_id(self.world.api.submit(body))
        self.records[task_id] = TaskRecord(task_id, pack.count(body), "")
        return task_id

    @rule(task_id=tasks)
    def poll(self, task_id: str) -> None:
        """A read: valid for its state, and consistent with every earlier read."""
        record = self.records[task_id]
        self.world.poller.read(record)
        if record.error is not None:
            raise record.error

    @precondition(lambda self: self.world.other_api is not None)
    @rule(task_id=tasks)
    def foreign_read(self, task_id: str) -> None:
        """Another key never sees the task, whatever its state."""
        assert self.world.other_api is not None
        answer = self.world.other_api.status(task_id)
        check_error(answer, 404, "status.other-key-404")

    @rule(ms=st.integers(min_value=100, max_value=5_000))
    def clock_moves(self, ms: int) -> None:
        """Time passes: the mock's clock moves, or (without admin) a short real wait."""
        if self.world.admin is not None:
            self.world.admin.advance(ms)
        else:
            time.sleep(min(ms / 1000, self.world.pause_s))

    def teardown(self) -> None:
        """Every task ends in a valid terminal state with the images it asked for."""
        records = list(self.records.values())
        self.world.poller.wait(records)
        for record in records:
            data = record.final()
            if data["state"] == "success":
                check_result_count(data, record.images)


def machine_for(world: World) -> type[TaskMachine]:
    """The machine bound to one target (a subclass, so nothing global changes)."""
    return type("BoundTaskMachine", (TaskMachine,), {"world": world})
