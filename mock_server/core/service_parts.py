"""The parts MockService owns, declared once for the mixins it is built from.

MockService's __init__ assigns every one of them; admission.py and
admin_views.py hold the facade's methods by concept and read them through
these declarations, so that mypy checks each mixin on its own.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

from .auth import KeyRing
from .callbacks import CallbackDispatcher
from .clock import MockClock
from .config import CoreConfig
from .lifecycle import Failure
from .models.pricing import Prices
from .models.submission import ServedModels
from .outputs.files import ResultFiles
from .references import Fetcher
from .results import ResultCache
from .scenarios import RuleBook
from .stores import AccountStore, JournalStore, TaskStore, UnfinishedStore, WindowStore
from .stores.steps import AdmissionSteps
from .timing import Timing
from .validation import SubmitValidator


class ServiceParts:
    """Declarations only: what MockService.__init__ and _apply assign."""

    base_config: CoreConfig
    settings: CoreConfig
    seed: int
    clock: MockClock
    keys: KeyRing
    tasks: TaskStore
    journal: JournalStore
    results: ResultCache
    files: ResultFiles
    models: ServedModels
    rules: RuleBook
    callbacks: CallbackDispatcher
    _clock_starts_frozen: bool
    _window: WindowStore
    _unfinished: UnfinishedStore
    _accounts: AccountStore
    _steps: AdmissionSteps
    _fetcher: Fetcher | None
    _fetch_pool: ThreadPoolExecutor | None
    _lock: AbstractContextManager[Any]
    _validator: SubmitValidator
    _checks: dict[str, Future[Failure | None]]
    _closed: bool
    _timing: Timing
    _price_micros: int
    _prices: Prices  # model_prices, parsed once per settings change
