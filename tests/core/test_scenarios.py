"""The scenario engine: matching, counting, seeded chance, the rule book and prompt triggers."""

from __future__ import annotations

import re

import pytest

from mock_server.core.errors import ApiError, InvalidRequest, RateLimited
from mock_server.core.lifecycle import FailCode, Failure
from mock_server.core.scenarios import (
    Context,
    Effect,
    FailEffect,
    Match,
    Reject,
    Rule,
    RuleBook,
    Scenario,
    TimelineOverride,
    reject_error,
    trigger_decision,
)
from mock_server.core.validation import SubmitRequest

KEY = "key-a"
FAIL = Effect(fail=FailEffect(Failure.of(FailCode.GENERATION_FAILED)))
SLOW = Effect(latency_ms=500)


def request(prompt: str = "a red fox", **fields: object) -> SubmitRequest:
    return SubmitRequest(prompt=prompt, **fields)  # type: ignore[arg-type]


def submit(prompt: str = "a red fox", key: str = KEY, **fields: object) -> Context:
    return Context("submit", key, request(prompt, **fields))


def book_with(*rules: Rule, seed: int = 0) -> RuleBook:
    book = RuleBook(seed=seed)
    book.activate(Scenario("test", tuple(rules)))
    return book


def fires(match: Match, ctx: Context) -> bool:
    return not book_with(Rule("only", match, FAIL)).decide(ctx).default


def pattern(book: RuleBook, ctx: Context, count: int) -> list[bool]:
    return [not book.decide(ctx).default for _ in range(count)]


# -- matching ----------------------------------------------------------------------

MATCHES: tuple[tuple[str, Match, Context, Context], ...] = (
    ("prompt-contains-any-case", Match(prompt_contains=("FOX",)), submit("A Fox"), submit("owl")),
    ("prompt-contains-any-word", Match(prompt_contains=("cat", "fox")), submit(), submit("owl")),
    ("prompt-regex", Match(prompt_regex=re.compile(r"\bred\b")), submit(), submit("a redfox")),
    ("key", Match(key="vip"), submit(key="vip"), submit(key="other")),
    ("model", Match(model="veo-3-1"), submit(model="veo-3-1"), submit()),
    ("provider", Match(provider="official"), submit(provider="official"), submit()),
    ("aspect-ratio", Match(aspect_ratio="2:3"), submit(aspect_ratio="2:3"), submit()),
    ("num-images", Match(num_images=4), submit(num_images=4), submit(num_images=2)),
    (
        "image-url-any",
        Match(image_url=re.compile(r"broken\.example")),
        submit(image_urls=("https://ok.example/a.png", "https://broken.example/b.png")),
        submit(image_urls=("https://ok.example/a.png",)),
    ),
    ("request-type", Match(request_type="callback"), submit(request_type="callback"), submit()),
    ("on-status", Match(endpoint="status"), Context("status", KEY), submit()),
    ("on-balance", Match(endpoint="balance"), Context("balance", KEY), Context("status", KEY)),
)


@pytest.mark.parametrize(
    ("match", "matching", "other"), [m[1:] for m in MATCHES], ids=[m[0] for m in MATCHES]
)
def test_rule_fires_only_when_its_match_field_fits(
    match: Match, matching: Context, other: Context
) -> None:
    assert fires(match, matching)
    assert not fires(match, other)


def test_prompt_regex_is_case_sensitive_unless_asked() -> None:
    assert not fires(Match(prompt_regex=re.compile("FOX")), submit())
    assert fires(Match(prompt_regex=re.compile("(?i)FOX")), submit())


def test_image_url_rule_does_not_fire_without_image_urls() -> None:
    assert not fires(Match(image_url=re.compile(".*")), submit())


@pytest.mark.parametrize(
    "ctx", [submit(), Context("status", KEY), Context("balance", KEY)], ids=lambda c: c.endpoint
)
def test_on_any_fires_on_every_endpoint(ctx: Context) -> None:
    assert fires(Match(endpoint="any"), ctx)


def test_submit_is_the_default_endpoint() -> None:
    assert fires(Match(), submit())
    assert not fires(Match(), Context("status", KEY))


def test_request_field_rule_needs_a_request_to_fit() -> None:
    match = Match(endpoint="status", provider="auto")
    assert not fires(match, Context("status", KEY))
    assert fires(match, Context("status", KEY, request()))


def test_every_field_given_must_fit() -> None:
    match = Match(prompt_contains=("fox",), num_images=2)
    assert fires(match, submit(num_images=2))
    assert not fires(match, submit(num_images=1))


# -- order and counting ------------------------------------------------------------


def test_first_matching_rule_wins() -> None:
    book = book_with(
        Rule("cats", Match(prompt_contains=("cat",)), SLOW),
        Rule("foxes", Match(prompt_contains=("fox",)), FAIL),
        Rule("anything", Match(), SLOW),
    )
    decision = book.decide(submit())
    assert decision.effect == FAIL
    assert decision.reason == "rule test/foxes"
    assert not decision.default


def test_no_matching_rule_is_the_default_decision() -> None:
    decision = book_with(Rule("cats", Match(prompt_contains=("cat",)), FAIL)).decide(submit())
    assert decision.default
    assert decision.effect == Effect()


def test_every_nth_fires_on_each_nth_matching_request() -> None:
    book = book_with(Rule("second", Match(every_nth=2), FAIL))
    assert pattern(book, submit(), 6) == [False, True, False, True, False, True]


def test_every_nth_counts_only_requests_that_match() -> None:
    book = book_with(Rule("third-fox", Match(prompt_contains=("fox",), every_nth=3), FAIL))
    outcomes = [not book.decide(submit(p)).default for p in ["fox", "owl", "fox", "owl", "fox"]]
    assert outcomes == [False, False, False, False, True]


def test_times_expires_a_rule_after_n_firings_and_the_next_rule_takes_over() -> None:
    book = book_with(Rule("twice", Match(), FAIL, times=2), Rule("then", Match(), SLOW))
    effects = [book.decide(submit()).effect for _ in range(4)]
    assert effects == [FAIL, FAIL, SLOW, SLOW]


def test_remaining_counts_down_a_rules_times() -> None:
    rule = Rule("twice", Match(), FAIL, times=2)
    book = book_with(rule)
    book.decide(submit())
    assert book.remaining("test", rule) == 1
    book.decide(submit())
    book.decide(submit())
    assert book.remaining("test", rule) == 0
    assert book.remaining("test", Rule("forever", Match(), FAIL)) is None


def test_activating_again_restarts_the_counters() -> None:
    scenario = Scenario("test", (Rule("once", Match(), FAIL, times=1),))
    book = RuleBook()
    book.activate(scenario)
    book.decide(submit())
    assert book.decide(submit()).default
    book.activate(scenario)
    assert not book.decide(submit()).default


# -- seeded probability ------------------------------------------------------------


def coin(seed: int, probability: float) -> RuleBook:
    return book_with(Rule("coin", Match(probability=probability), FAIL), seed=seed)


def test_probability_with_the_same_seed_draws_the_same_sequence() -> None:
    assert pattern(coin(11, 0.5), submit(), 200) == pattern(coin(11, 0.5), submit(), 200)


def test_probability_with_another_seed_draws_another_sequence() -> None:
    assert pattern(coin(11, 0.5), submit(), 200) != pattern(coin(12, 0.5), submit(), 200)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_probability_roughly_matches_its_rate(seed: int) -> None:
    hits = sum(pattern(coin(seed, 0.3), submit(), 1_000))
    assert 200 < hits < 400


@pytest.mark.parametrize(("probability", "hits"), [(0.0, 0), (1.0, 100)])
def test_probability_zero_never_fires_and_one_always_does(probability: float, hits: int) -> None:
    assert sum(pattern(coin(5, probability), submit(), 100)) == hits


# -- the rule book -----------------------------------------------------------------


def test_add_rule_appends_by_default_and_inserts_at_an_index() -> None:
    book = book_with(Rule("first", Match(prompt_contains=("cat",)), SLOW))
    book.add_rule(Rule("last", Match(), SLOW))
    book.add_rule(Rule("front", Match(), FAIL), index=0)
    assert [rule.name for rule in book.active.rules] == ["front", "first", "last"]
    assert book.decide(submit()).reason == "rule test/front"


def test_add_rule_refuses_a_duplicate_name() -> None:
    book = book_with(Rule("one", Match(), SLOW))
    with pytest.raises(InvalidRequest) as caught:
        book.add_rule(Rule("one", Match(), FAIL))
    assert caught.value.error.startswith("rule: ")


def test_remove_rule_removes_it_by_name() -> None:
    book = book_with(Rule("one", Match(), SLOW), Rule("two", Match(), FAIL))
    book.remove_rule("one")
    assert book.decide(submit()).effect == FAIL


def test_remove_rule_refuses_an_unknown_name() -> None:
    with pytest.raises(InvalidRequest, match="Invalid request") as caught:
        book_with().remove_rule("ghost")
    assert "ghost" in caught.value.error


def test_clear_leaves_no_active_rules() -> None:
    book = book_with(Rule("one", Match(), FAIL))
    book.clear()
    assert book.active.rules == ()
    assert book.decide(submit()).default


def test_activate_adds_the_scenario_to_the_library() -> None:
    book = book_with()
    assert book.active.name == "test"
    assert book.named("test") is book.active


def test_decide_can_use_a_named_scenario_instead_of_the_active_one() -> None:
    book = book_with(Rule("active", Match(), SLOW))
    book.add_to_library(Scenario("other", (Rule("named", Match(), FAIL),)))
    assert book.decide(submit(), "other").reason == "rule other/named"
    assert book.decide(submit()).reason == "rule test/active"


def test_named_refuses_an_unknown_scenario() -> None:
    with pytest.raises(InvalidRequest) as caught:
        RuleBook().named("ghost")
    assert caught.value.status == 400
    assert "ghost" in caught.value.error


class Loader:
    """Loads one known scenario by name, counting the calls."""

    def __init__(self, known: Scenario) -> None:
        self.known = known
        self.asked: list[str] = []

    def __call__(self, name: str) -> Scenario | None:
        self.asked.append(name)
        return self.known if name == self.known.name else None


def test_loader_supplies_unknown_names_once() -> None:
    loader = Loader(Scenario("shipped", (Rule("r", Match(), FAIL),)))
    book = RuleBook(loader=loader)
    assert book.named("shipped") is loader.known
    assert book.named("shipped") is loader.known
    assert loader.asked == ["shipped"]
    assert "shipped" in book.library()


def test_loader_finding_nothing_is_an_unknown_scenario() -> None:
    loader = Loader(Scenario("shipped"))
    with pytest.raises(InvalidRequest):
        RuleBook(loader=loader).named("ghost")
    assert loader.asked == ["ghost"]


def test_library_names_are_not_loaded_again() -> None:
    loader = Loader(Scenario("shipped"))
    book = RuleBook({"mine": Scenario("mine")}, loader=loader)
    assert book.named("mine").name == "mine"
    assert loader.asked == []


# -- prompt triggers ---------------------------------------------------------------


@pytest.mark.parametrize("code", list(FailCode), ids=[code.value for code in FailCode])
def test_fail_trigger_fails_with_that_code(code: FailCode) -> None:
    decision = trigger_decision(request(f"draw this mock:fail:{code.value} please"))
    assert decision is not None
    assert decision.effect.fail == FailEffect(Failure.of(code))
    assert decision.reason == f"trigger mock:fail:{code.value}"


def test_content_violation_trigger_uses_the_docs_message() -> None:
    decision = trigger_decision(request("mock:fail:CONTENT_VIOLATION"))
    assert decision is not None
    assert decision.effect.fail is not None
    assert decision.effect.fail.failure.message == "Content does not meet safety guidelines"


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_reject_trigger_rejects_with_that_status(status: int) -> None:
    decision = trigger_decision(request(f"mock:reject:{status}"))
    assert decision is not None
    assert decision.effect.reject == Reject(status)


def test_hang_trigger_never_finishes() -> None:
    decision = trigger_decision(request("please mock:hang forever"))
    assert decision is not None
    assert decision.effect.timeline == TimelineOverride(never_finish=True)


@pytest.mark.parametrize(
    "prompt",
    ["a red fox", "mock:fail:OOPS", "mock:fail:content_violation", "mock:reject:200"],
    ids=["plain", "unknown-code", "lower-case-code", "reject-2xx"],
)
def test_prompts_without_a_valid_trigger_decide_nothing(prompt: str) -> None:
    assert trigger_decision(request(prompt)) is None


def test_reject_trigger_wins_over_a_fail_trigger() -> None:
    decision = trigger_decision(request("mock:fail:NSFW_DETECTED mock:reject:503"))
    assert decision is not None
    assert (decision.effect.reject, decision.effect.fail) == (Reject(503), None)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://img.example/mock:fail:NSFW_DETECTED.png", "trigger mock:fail:NSFW_DETECTED"),
        ("https://img.example/a.png?t=mock:reject:503", "trigger mock:reject:503"),
        ("https://img.example/mock:hang/a.png", "trigger mock:hang"),
        (
            "https://img.example/mock%3Afail%3AGENERATION_FAILED.png",
            "trigger mock:fail:GENERATION_FAILED",
        ),
    ],
    ids=["fail-in-path", "reject-in-query", "hang-in-path", "percent-encoded"],
)
def test_triggers_in_a_reference_image_url_work_as_in_the_prompt(url: str, reason: str) -> None:
    decision = trigger_decision(
        request("a plain prompt", image_urls=("https://a.example/x.png", url))
    )

    assert decision is not None
    assert decision.reason == reason


def test_a_reject_in_a_url_wins_over_a_fail_in_the_prompt() -> None:
    urls = ("https://img.example/mock:reject:429.png",)
    decision = trigger_decision(request("mock:fail:NSFW_DETECTED", image_urls=urls))

    assert decision is not None
    assert decision.effect.reject == Reject(429)


# -- reject effects as errors ------------------------------------------------------


def test_reject_429_is_rate_limited_with_retry_after() -> None:
    error = reject_error(Reject(429))
    assert isinstance(error, RateLimited)
    assert error.status == 429
    assert int(error.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("status", "message"),
    [(503, "Model temporarily unavailable"), (500, "Internal server error"), (402, None)],
)
def test_reject_answers_with_its_status_and_a_message(status: int, message: str | None) -> None:
    error = reject_error(Reject(status))
    assert type(error) is ApiError
    assert error.status == status
    assert error.message
    if message is not None:
        assert error.message == message


@pytest.mark.parametrize("status", [429, 503])
def test_reject_keeps_a_given_message(status: int) -> None:
    assert reject_error(Reject(status, "go away")).message == "go away"
