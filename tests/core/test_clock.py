"""MockClock on a wall clock the test moves by hand: offsets, freezing and listeners."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import pytest

from mock_server.core.clock import MAX_MS, ClockOutOfRange, MockClock
from mock_server.core.errors import InvalidRequest
from mock_server.core.stores.memory import MemoryClockState

START = 1_700_000_000_000


class ListWall:
    """A wall clock that reads the last entry of a list; the test appends to move it."""

    def __init__(self, start: int = START) -> None:
        self.readings = [start]

    def __call__(self) -> int:
        return self.readings[-1]

    def move(self, ms: int) -> None:
        self.readings.append(self.readings[-1] + ms)


@pytest.fixture
def wall() -> ListWall:
    return ListWall()


@pytest.fixture
def running(wall: ListWall) -> MockClock:
    return MockClock(wall=wall)


@pytest.fixture
def frozen(wall: ListWall) -> MockClock:
    return MockClock(wall=wall, frozen=True)


class Calls:
    """A listener that counts its calls and records the clock's reading at each."""

    def __init__(self, clock: MockClock) -> None:
        self.clock = clock
        self.readings: list[int] = []

    def __call__(self) -> None:
        self.readings.append(self.clock.now_ms())


# -- reading the time --------------------------------------------------------------


def test_running_clock_follows_the_wall(running: MockClock, wall: ListWall) -> None:
    assert running.now_ms() == START
    wall.move(1_234)
    assert running.now_ms() == START + 1_234
    assert not running.frozen


def test_frozen_clock_stands_still_while_the_wall_moves(frozen: MockClock, wall: ListWall) -> None:
    wall.move(60_000)
    assert frozen.now_ms() == START
    assert frozen.frozen


def test_offset_is_zero_on_a_fresh_running_clock(running: MockClock, wall: ListWall) -> None:
    wall.move(5_000)
    assert running.offset_ms == 0


def test_offset_of_a_frozen_clock_falls_behind_as_the_wall_moves(
    frozen: MockClock, wall: ListWall
) -> None:
    wall.move(3_000)
    assert frozen.offset_ms == -3_000


# -- advance -----------------------------------------------------------------------


def test_advance_puts_a_running_clock_ahead_of_the_wall(running: MockClock, wall: ListWall) -> None:
    assert running.advance(500) == START + 500
    assert running.offset_ms == 500
    wall.move(100)
    assert running.now_ms() == START + 600
    assert running.offset_ms == 500


def test_advance_moves_a_frozen_clock_and_it_stays_frozen(
    frozen: MockClock, wall: ListWall
) -> None:
    assert frozen.advance(2_000) == START + 2_000
    wall.move(10_000)
    assert frozen.now_ms() == START + 2_000
    assert frozen.frozen


def test_advance_by_zero_is_allowed(frozen: MockClock) -> None:
    assert frozen.advance(0) == START


def test_advance_rejects_a_negative_step_and_changes_nothing(frozen: MockClock) -> None:
    calls = Calls(frozen)
    frozen.subscribe(calls)
    with pytest.raises(ValueError, match="forwards"):
        frozen.advance(-1)
    assert frozen.now_ms() == START
    assert calls.readings == []


# -- set ---------------------------------------------------------------------------


def test_set_jumps_a_running_clock_which_keeps_running(running: MockClock, wall: ListWall) -> None:
    assert running.set(START + 90_000) == START + 90_000
    assert running.now_ms() == START + 90_000
    wall.move(10)
    assert running.now_ms() == START + 90_010


def test_set_moves_a_frozen_clock_which_stays_frozen(frozen: MockClock, wall: ListWall) -> None:
    frozen.set(START + 7_000)
    wall.move(1_000)
    assert frozen.now_ms() == START + 7_000
    assert frozen.frozen


def test_set_may_go_backwards_when_asked(frozen: MockClock) -> None:
    frozen.set(START - 1_000)
    assert frozen.now_ms() == START - 1_000


# -- freeze, unfreeze, reset -------------------------------------------------------


def test_freeze_returns_the_current_reading_and_holds_it(
    running: MockClock, wall: ListWall
) -> None:
    running.advance(250)
    assert running.freeze() == START + 250
    wall.move(5_000)
    assert running.now_ms() == START + 250


def test_freezing_twice_keeps_the_first_reading(running: MockClock, wall: ListWall) -> None:
    first = running.freeze()
    wall.move(5_000)
    assert running.freeze() == first
    assert running.now_ms() == first


def test_unfreeze_resumes_from_the_frozen_reading(frozen: MockClock, wall: ListWall) -> None:
    frozen.advance(1_000)
    wall.move(30_000)  # wall time passes while frozen: none of it counts
    assert frozen.unfreeze() == START + 1_000
    assert not frozen.frozen
    wall.move(200)
    assert frozen.now_ms() == START + 1_200


def test_unfreeze_of_a_running_clock_changes_nothing(running: MockClock, wall: ListWall) -> None:
    running.advance(400)
    assert running.unfreeze() == START + 400
    wall.move(100)
    assert running.now_ms() == START + 500


def test_reset_drops_the_offset_and_runs_on_wall_time(frozen: MockClock, wall: ListWall) -> None:
    frozen.advance(99_000)
    wall.move(50)
    frozen.reset()
    assert not frozen.frozen
    assert frozen.now_ms() == START + 50
    assert frozen.offset_ms == 0


def test_reset_frozen_freezes_at_the_wall_reading(running: MockClock, wall: ListWall) -> None:
    running.advance(99_000)
    running.reset(frozen=True)
    assert running.now_ms() == START
    wall.move(1_000)
    assert running.now_ms() == START
    assert running.frozen


# -- listeners ---------------------------------------------------------------------

CHANGES: Mapping[str, Callable[[MockClock], object]] = MappingProxyType(
    {
        "advance": lambda clock: clock.advance(10),
        "set": lambda clock: clock.set(START + 10),
        "freeze": lambda clock: clock.freeze(),
        "unfreeze": lambda clock: clock.unfreeze(),
        "reset": lambda clock: clock.reset(),
    }
)


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_listener_is_called_once_per_change(
    frozen: MockClock, change: Callable[[MockClock], object]
) -> None:
    calls = Calls(frozen)
    frozen.subscribe(calls)
    change(frozen)
    assert len(calls.readings) == 1


def test_listener_sees_the_new_time(frozen: MockClock) -> None:
    calls = Calls(frozen)
    frozen.subscribe(calls)
    frozen.advance(10)
    frozen.advance(20)
    assert calls.readings == [START + 10, START + 30]


def test_every_subscribed_listener_is_called(frozen: MockClock) -> None:
    first, second = Calls(frozen), Calls(frozen)
    frozen.subscribe(first)
    frozen.subscribe(second)
    frozen.advance(1)
    assert len(first.readings) == len(second.readings) == 1


def test_unsubscribed_listener_is_no_longer_called(frozen: MockClock) -> None:
    calls = Calls(frozen)
    frozen.subscribe(calls)
    frozen.advance(1)
    frozen.unsubscribe(calls)
    frozen.advance(1)
    assert len(calls.readings) == 1


def test_unsubscribing_an_unknown_listener_is_ignored(frozen: MockClock) -> None:
    frozen.unsubscribe(Calls(frozen))
    assert frozen.advance(1) == START + 1


# -- bounds: whole milliseconds that JSON holds exactly ------------------------------


def test_the_bound_is_the_largest_integer_a_json_number_holds_exactly() -> None:
    assert MAX_MS == 2**53 - 1
    assert float(MAX_MS) == MAX_MS
    assert float(MAX_MS + 2) != MAX_MS + 2


@pytest.mark.parametrize("clock_kind", ["frozen", "running"])
def test_advancing_past_the_bound_is_refused_and_changes_nothing(
    clock_kind: str, request: pytest.FixtureRequest
) -> None:
    clock: MockClock = request.getfixturevalue(clock_kind)
    with pytest.raises(ClockOutOfRange, match="9007199254740991"):
        clock.advance(MAX_MS - START + 1)
    assert clock.now_ms() == START


def test_advancing_exactly_to_the_bound_is_allowed(frozen: MockClock) -> None:
    assert frozen.advance(MAX_MS - START) == MAX_MS


@pytest.mark.parametrize("ms", [MAX_MS + 1, 10**29, -1])
def test_setting_outside_the_bound_is_refused(frozen: MockClock, ms: int) -> None:
    with pytest.raises(ClockOutOfRange):
        frozen.set(ms)
    assert frozen.now_ms() == START


@pytest.mark.parametrize("ms", [1.0, 1.5, True, "1"])
def test_only_int_milliseconds_reach_the_clock(frozen: MockClock, ms: object) -> None:
    with pytest.raises(ClockOutOfRange, match="whole number"):
        frozen.advance(ms)  # type: ignore[arg-type]
    with pytest.raises(ClockOutOfRange, match="whole number"):
        frozen.set(ms)  # type: ignore[arg-type]
    assert type(frozen.now_ms()) is int
    assert frozen.now_ms() == START


def test_a_clock_error_is_a_400_and_a_value_error() -> None:
    error = ClockOutOfRange("ms: too far")
    assert isinstance(error, InvalidRequest)
    assert isinstance(error, ValueError)
    assert error.status == 400


def test_a_running_clock_set_to_the_bound_stays_there(running: MockClock, wall: ListWall) -> None:
    running.set(MAX_MS)
    wall.move(5_000)
    assert running.now_ms() == MAX_MS


# -- one reading of the state per request (steady) ------------------------------------


class CountedState:
    """A clock state shared by two clocks (as by two processes) that counts its reads."""

    def __init__(self) -> None:
        self.state = MemoryClockState()
        self.reads = 0

    @property
    def reading(self) -> tuple[int, int | None]:
        self.reads += 1
        return self.state.reading

    def update(self, change: Callable[..., tuple[int, int | None]]) -> tuple[int, int | None]:
        return self.state.update(change)


def test_steady_reads_the_state_once_while_wall_time_runs_on(wall: ListWall) -> None:
    state = CountedState()
    clock = MockClock(wall=wall, state=state)
    with clock.steady():
        first = clock.now_ms()
        wall.move(5)
        assert clock.now_ms() == first + 5
        assert not clock.frozen
    assert state.reads == 1
    clock.now_ms()
    assert state.reads == 2  # outside the block every reading goes to the state


def test_steady_sees_a_move_made_through_the_same_clock_at_once(wall: ListWall) -> None:
    clock = MockClock(wall=wall, frozen=True)
    with clock.steady():
        before = clock.now_ms()
        clock.advance(1_000)
        assert clock.now_ms() == before + 1_000
        clock.unfreeze()
        assert not clock.frozen


def test_a_move_through_another_clock_is_seen_by_the_next_block(wall: ListWall) -> None:
    state = CountedState()
    mine, other = MockClock(wall=wall, state=state), MockClock(wall=wall, state=state)
    with mine.steady():
        before = mine.now_ms()
        other.advance(60_000)
        with mine.steady():  # nested: still the one reading of the outer block
            assert mine.now_ms() == before
    with mine.steady():
        assert mine.now_ms() == before + 60_000
    assert mine.now_ms() == before + 60_000
