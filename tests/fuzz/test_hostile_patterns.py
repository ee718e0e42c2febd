"""Hostile wildcard patterns and huge policies: bounded, near-linear work, shown by counting the
matcher's steps (``match_counting``), never by timing.

A step is one character comparison of ``str.find``/``startswith`` or one word-parallel Shift-And
step (a segment of L characters costs ⌈L/64⌉ word operations per text character).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsauthz.evaluate import Authorizer
from kmsauthz.evaluate.patterns import (
    WildcardMatcher,
    compile_arn_pattern,
    compile_wildcard,
    compile_wildcard_parts,
)
from kmsauthz.model.request import Request
from kmsauthz.scenario import load_world
from kmsauthz.syntax import load_policy_text


def reference(pattern: str, text: str, literal: frozenset[int] = frozenset()) -> bool:
    """Dynamic programming over text positions: the definition of a glob, O(pattern x text).

    ``literal`` holds indexes of pattern characters that are plain text (substituted variables).
    """
    reach = [True] + [False] * len(text)
    for k, p in enumerate(pattern):
        if p == "*" and k not in literal:
            seen = False
            for j in range(len(text) + 1):
                seen = seen or reach[j]
                reach[j] = seen
        else:
            nxt = [False] * (len(text) + 1)
            wild = p == "?" and k not in literal
            for j in range(len(text)):
                if reach[j] and (wild or text[j] == p):
                    nxt[j + 1] = True
            reach = nxt
    return reach[len(text)]


# -- correctness of the matcher on adversarial shapes ---------------------------------------------

_pattern_chars = st.sampled_from("ab*??")
_patterns = st.lists(_pattern_chars, max_size=14).map("".join)
_texts = st.lists(st.sampled_from("ab?*"), max_size=24).map("".join)


@settings(max_examples=400, deadline=None)
@given(_patterns, _texts)
def test_matcher_agrees_with_the_definition(pattern: str, text: str) -> None:
    assert compile_wildcard(pattern).match(text) is reference(pattern, text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(_pattern_chars, max_size=5).map("".join), st.booleans()), max_size=4), _texts)
def test_pieces_with_literal_wildcards_agree_with_the_definition(pieces: list[tuple[str, bool]], text: str) -> None:
    pattern = "".join(t for t, _ in pieces)
    literal: set[int] = set()
    at = 0
    for t, is_pattern in pieces:
        if not is_pattern:
            literal.update(range(at, at + len(t)))
        at += len(t)
    expected = reference(pattern, text, frozenset(literal))
    assert compile_wildcard_parts(tuple(pieces)).match(text) is expected


@settings(max_examples=200, deadline=None)
@given(_patterns, _texts)
def test_case_insensitive_matching_agrees_with_the_definition(pattern: str, text: str) -> None:
    upper = text.upper()
    assert compile_wildcard(pattern, case_sensitive=False).match(upper) is reference(pattern, text)


# -- step counts -----------------------------------------------------------------------------------

HOSTILE = [
    # (pattern builder for size m, text builder for size n)
    ("star-a-repeated", lambda m: "*a" * m + "*b", lambda n: "a" * n),
    ("star-a-repeated-open", lambda m: "*a" * m + "*b*", lambda n: "a" * n),
    ("question-chunks", lambda m: "*" + "a?" * m + "b*", lambda n: "a" * n),
    ("question-chunks-tail", lambda m: "*" + "a?" * m + "b", lambda n: "a" * n + "c"),
    ("questions-only", lambda m: "?" * m + "*", lambda n: "a" * n),
    ("question-run-in-middle", lambda m: "*a" + "?" * m + "b*", lambda n: "ab" * (n // 2)),
    ("near-miss-chunks", lambda m: "*" + "ab?" * m + "c*", lambda n: "abx" * (n // 3)),
    ("many-segments", lambda m: "*" + "*".join(["ab?a"] * m) + "*c", lambda n: "aba" * (n // 3)),
]


@pytest.mark.parametrize(("name", "make_pattern", "make_text"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_patterns_take_near_linear_steps(name: str, make_pattern: Any, make_text: Any) -> None:
    for m in (10, 200, 2_000):
        pattern = make_pattern(m)
        matcher = compile_wildcard(pattern)
        longest = max(len(s) for s in pattern.split("*"))
        words = -(-longest // 64)
        for n in (1_000, 4_000, 16_000):
            text = make_text(n)
            matched, steps = matcher.match_counting(text)
            # near-linear: a small constant per text character, times the word count of the
            # longest segment; never text x chunks (the cost before Shift-And) or exponential
            assert steps <= 4 * len(text) * words + 4 * len(pattern) + 64, (name, m, n, steps)
            if n == 1_000 and len(pattern) <= 400:
                assert matched is reference(pattern, text), (name, m)


def test_question_chunks_no_longer_cost_text_times_chunks() -> None:
    # regression: `*` + `a?`x1000 + `b*` on 8,000 x `a` checked all 1,001 chunks at each of ~6,000
    # candidate positions (6 million steps, 4.7 s); Shift-And reads each character once
    matched, steps = compile_wildcard("*" + "a?" * 1000 + "b*").match_counting("a" * 8000)
    assert matched is False
    assert steps <= 8000 * 32 + 64


def test_arn_patterns_with_hostile_components_are_bounded() -> None:
    pattern = "arn:aws:kms:*:111122223333:" + "*a" * 500 + "*" + "?" * 200 + "b"
    text = "arn:aws:kms:us-east-1:111122223333:" + "a" * 20_000
    matcher = compile_arn_pattern(pattern)
    resource = matcher.parts[-1]
    assert matcher.match(text) is False
    _, steps = resource.match_counting("a" * 20_000)
    assert steps <= 4 * 20_000 + 64


# -- whole decisions: count every matcher step -------------------------------------------------------


@contextmanager
def counted_steps() -> Iterator[list[int]]:
    """Route every WildcardMatcher.match through match_counting and sum the steps."""
    total = [0, 0]  # steps, calls
    original = WildcardMatcher.match

    def counting(self: WildcardMatcher, text: str) -> bool:
        matched, steps = self.match_counting(text)
        total[0] += steps
        total[1] += 1
        return matched

    WildcardMatcher.match = counting  # type: ignore[method-assign]
    try:
        yield total
    finally:
        WildcardMatcher.match = original  # type: ignore[method-assign]


A = "111122223333"
K1 = "1234abcd-12ab-34cd-56ef-1234567890ab"


def wildcard_key_policy(limit: int = 32_768) -> str:
    """A key policy of Allow/Deny statements full of hostile wildcards, just under 32 KB."""
    statements: list[dict[str, Any]] = [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*",
         "Resource": "*"}]
    i = 0
    while True:
        st_ = {
            "Sid": f"W{i}", "Effect": "Deny" if i % 2 else "Allow", "Principal": "*",
            "Action": ["kms:*a*a*a*a*a*b", "kms:?e?r?p?*z", "kms:*" + "?" * 20 + "q"],
            "Resource": f"arn:aws:kms:*:{A}:key/" + "*a" * 12 + "*b",
            "Condition": {
                "StringLike": {"kms:EncryptionContext:x": ["*" + "a?" * 20 + "b*", "*a*a*a*a*a*a*a*c"]},
                "ForAnyValue:StringLike": {"kms:EncryptionContextKeys": ["*?" * 10 + "z"]},
                "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{A}:" + "*a" * 10 + "*x"},
            },
        }
        candidate = json.dumps({"Version": "2012-10-17", "Statement": [*statements, st_]})
        if len(candidate.encode()) > limit:
            break
        statements.append(st_)
        i += 1
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@pytest.fixture(scope="module")
def hostile_world() -> Any:
    text = wildcard_key_policy()
    assert 30_000 < len(text.encode()) <= 32_768
    policy = json.loads(text)
    return load_world({"keys": [{"id": K1, "account": A, "policy": policy}],
                       "principals": [{"arn": f"arn:aws:iam::{A}:role/" + "a" * 60,
                                       "policies": [{"Version": "2012-10-17", "Statement": [
                                           {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}]}]})


def test_a_32kb_key_policy_of_wildcard_statements_is_accepted() -> None:
    policy = load_policy_text(wildcard_key_policy())
    assert len(policy.statements) > 20


def test_a_32kb_key_policy_of_wildcard_statements_decides_in_bounded_work(hostile_world: Any) -> None:
    long_value = "a" * 4_000
    context = {f"k{i}" + "a" * 100: long_value for i in range(20)}
    context["x"] = long_value
    request = Request(principal=f"arn:aws:iam::{A}:role/" + "a" * 60, action="kms:Decrypt", key=K1,
                      encryption_context=context)
    with counted_steps() as total:
        decision = Authorizer(hostile_world).decide(request)
    assert not decision.errors
    request_chars = sum(len(k) + len(v) for k, v in context.items()) + len(request.principal)
    policy_chars = len(wildcard_key_policy())
    # every pattern reads the request value it is matched against about once: the work is
    # bounded by (patterns x the text each reads), a few million steps here, not billions
    assert total[0] <= 8 * request_chars * 64 + 8 * policy_chars, total
    assert total[1] > 0  # the hostile patterns were really matched


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["*", "?", "a", "b", "*a", "a?", "?b"]), min_size=1, max_size=400).map("".join),
       st.integers(0, 6_000))
def test_random_long_patterns_have_bounded_steps(pattern: str, n: int) -> None:
    matcher = compile_wildcard(pattern)
    longest = max(len(s) for s in pattern.split("*"))
    for text in ("a" * n, ("ab" * n)[:n]):
        _, steps = matcher.match_counting(text)
        assert steps <= 4 * len(text) * -(-longest // 64) + 4 * len(pattern) + 64
