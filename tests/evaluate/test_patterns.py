"""Wildcard and ARN matchers: IAM's documented cases, a reference oracle, and step bounds."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsauthz.evaluate.patterns import (
    compile_arn_parts,
    compile_arn_pattern,
    compile_wildcard,
    compile_wildcard_parts,
    split_arn,
)


def reference_match(pattern: str, text: str) -> bool:
    """Plain recursive DP over (pattern index, text index): obviously correct, slow."""

    @cache
    def go(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(text)
        p = pattern[i]
        if p == "*":
            return go(i + 1, j) or (j < len(text) and go(i, j + 1))
        if j < len(text) and (p == "?" or p == text[j]):
            return go(i + 1, j + 1)
        return False

    return go(0, 0)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("*", "", True),
        ("*", "anything/at:all", True),
        ("", "", True),
        ("", "a", False),
        ("abc", "abc", True),
        ("abc", "abC", False),
        ("abc", "abcd", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("a?c", "abbc", False),
        ("???", "abc", True),
        ("???", "ab", False),
        ("a*", "a", True),
        ("*c", "abc", True),
        ("*c", "abd", False),
        ("a*c", "ac", True),
        ("a*c", "abxyc", True),
        ("a*c", "abxycd", False),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "acb", False),
        ("*ab?d*", "xxabcabxd", True),
        ("a*?", "a", False),
        ("a*?", "ab", True),
        ("a**b", "ab", True),
        ("*?*", "", False),
        ("alias/*Test*", "alias/myTestKey", True),
        ("alias/*Test*", "alias/mytestkey", False),
        ("home/*", "home/", True),
        (
            "arn:aws:someservice:*:111122223333:finance/*",
            "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt",
            True,
        ),
    ],
)
def test_wildcard_cases(pattern: str, text: str, expected: bool) -> None:
    assert compile_wildcard(pattern).match(text) is expected
    assert reference_match(pattern, text) is expected


def test_literal_pattern_compiles_to_equality() -> None:
    m = compile_wildcard("kms:Decrypt")
    assert m.is_literal and m.literal == "kms:Decrypt"
    assert not compile_wildcard("kms:*").is_literal
    assert compile_wildcard("*").matches_everything
    assert compile_wildcard("**").matches_everything
    assert not compile_wildcard("?*").matches_everything


def test_case_insensitive_action_matching() -> None:
    assert compile_wildcard("kms:Decrypt", case_sensitive=False).match("KMS:decrypt")
    assert compile_wildcard("kms:*", case_sensitive=False).match("kms:GenerateDataKey")
    assert compile_wildcard("KMS:Gen*", case_sensitive=False).match("kms:GenerateDataKeyPair")
    assert not compile_wildcard("kms:Gen*", case_sensitive=False).match("kms:Decrypt")
    assert not compile_wildcard("kms:Decrypt").match("KMS:decrypt")


def test_compiled_patterns_are_cached() -> None:
    assert compile_wildcard("alias/*") is compile_wildcard("alias/*")
    assert compile_arn_pattern("arn:aws:kms:*:*:key/*") is compile_arn_pattern("arn:aws:kms:*:*:key/*")


@settings(max_examples=400, deadline=None)
@given(
    pattern=st.text(alphabet="ab*?", max_size=8),
    text=st.text(alphabet="abc", max_size=10),
)
def test_wildcard_agrees_with_reference(pattern: str, text: str) -> None:
    assert compile_wildcard(pattern).match(text) is reference_match(pattern, text)


@settings(max_examples=200, deadline=None)
@given(
    pattern=st.text(alphabet="aA*?", max_size=7),
    text=st.text(alphabet="aAb", max_size=9),
)
def test_case_insensitive_agrees_with_reference(pattern: str, text: str) -> None:
    got = compile_wildcard(pattern, case_sensitive=False).match(text)
    assert got is reference_match(pattern.lower(), text.lower())


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="ab", min_size=0, max_size=12), data=st.data())
def test_pattern_built_from_the_text_always_matches(text: str, data: st.DataObject) -> None:
    # replace random characters with `?` and random runs with `*`: the text must still match
    chars = list(text)
    out = []
    i = 0
    while i < len(chars):
        choice = data.draw(st.integers(0, 3))
        if choice == 0:
            out.append("?")
            i += 1
        elif choice == 1:
            run = data.draw(st.integers(0, len(chars) - i))
            out.append("*")
            i += run
        else:
            out.append(chars[i])
            i += 1
    assert compile_wildcard("".join(out)).match(text)


HOSTILE = [
    "*a*a*a*a*a*b",
    "*a*a*a*a*a*b*",
    "*a?a*a?a*b",
    "*aab*aab*aac*",
    "a*a*a*a*a*a*a*a*a*a*b",
    "*?a?*?b?*c*",
    "*a?b*",
]


@pytest.mark.parametrize("pattern", HOSTILE)
def test_work_is_linear_on_hostile_patterns(pattern: str) -> None:
    """Step counts grow linearly with the text, never with text x stars or exponentially."""
    matcher = compile_wildcard(pattern)
    for n in (1_000, 4_000, 16_000):
        for text in ("a" * n, "a" * n + "c", ("ab" * n)[:n], "a" * (n // 2) + "b" + "a" * (n // 2)):
            matched, steps = matcher.match_counting(text)
            assert matched is reference_match_fast(pattern, text)
            # a constant factor of the text length (the longest segment here has 4 characters)
            assert steps <= 8 * len(text) + 64, (pattern, n, steps)


def reference_match_fast(pattern: str, text: str) -> bool:
    """Iterative DP over text positions (O(len(pattern) * len(text))) for the long hostile texts."""
    reach = [False] * (len(text) + 1)
    reach[0] = True
    for p in pattern:
        if p == "*":
            seen = False
            for j in range(len(text) + 1):
                seen = seen or reach[j]
                reach[j] = seen
        else:
            nxt = [False] * (len(text) + 1)
            for j in range(len(text)):
                if reach[j] and (p == "?" or text[j] == p):
                    nxt[j + 1] = True
            reach = nxt
    return reach[len(text)]


def test_hostile_pattern_step_count_is_small_when_the_tail_fails() -> None:
    # the anchored tail `b` is checked first: one step, whatever the text length
    matched, steps = compile_wildcard("*a*a*a*a*a*b").match_counting("a" * 100_000)
    assert matched is False
    assert steps <= 2


# ---------------------------------------------------------------- ARNs


def test_split_arn_keeps_colons_in_the_resource_part() -> None:
    assert split_arn("arn:aws:s3:::bucket/a:b:c") == ["arn", "aws", "s3", "", "", "bucket/a:b:c"]


def test_arn_like_does_not_cross_colons_but_string_like_does() -> None:
    # reference_policies_elements_condition_operators.html#Conditions_ARN
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert not compile_arn_pattern(pattern).match(value)
    assert compile_wildcard(pattern).match(value)


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("*", "arn:aws:kms:us-west-2:111122223333:key/abc", True),
        ("*", "not-an-arn", True),
        ("arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:us-west-2:111122223333:key/1234abcd", True),
        ("arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:us-west-2:444455556666:key/1234abcd", False),
        ("arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:us-west-2:111122223333:alias/app", False),
        ("arn:aws:kms:us-west-2:111122223333:*", "arn:aws:kms:us-west-2:111122223333:alias/a:b", True),
        ("arn:aws:kms:*:*:*", "arn:aws:kms:us-west-2:111122223333:key/x", True),
        ("arn:aws:kms:*:*:*", "arn:aws:kms:us-west-2:111122223333", False),
        ("arn:aws:kms:us-west-?:*:*", "arn:aws:kms:us-west-2:1:key/x", True),
        ("arn:aws:kms:us-west-?:*:*", "arn:aws:kms:us-west-10:1:key/x", False),
        ("arn:aws:s3:::bucket/*/test/*", "arn:aws:s3:::bucket/1/2/test/3/object.jpg", True),
        ("arn:aws:s3:::bucket/*/test/*", "arn:aws:s3:::bucket//test/object.jpg", True),
        ("arn:aws:iam::111122223333:user/Bob", "arn:aws:iam::111122223333:user/bob", False),
        ("arn:aws:kms:us-west-2:111122223333:key/k", "arn:aws:kms:us-west-2:111122223333:key/k", True),
        # a region `*` matches the empty region of a global-service ARN
        ("arn:aws:iam:*:111122223333:role/*", "arn:aws:iam::111122223333:role/x", True),
        # fewer components: the last one takes the rest of the text
        ("arn:aws:kms:*", "arn:aws:kms:us-west-2:111122223333:key/x", True),
        ("arn:aws:kms:*", "arn:aws:s3:::b", False),
    ],
)
def test_arn_patterns(pattern: str, arn: str, expected: bool) -> None:
    assert compile_arn_pattern(pattern).match(arn) is expected


@settings(max_examples=300, deadline=None)
@given(
    fields=st.lists(st.text(alphabet="ab*?", max_size=4), min_size=6, max_size=6),
    values=st.lists(st.text(alphabet="ab:", max_size=5), min_size=6, max_size=6),
)
def test_six_field_arn_pattern_matches_field_by_field(fields: list[str], values: list[str]) -> None:
    pattern = ":".join(fields)
    text = ":".join(values)
    pieces = text.split(":", 5)
    expected = all(reference_match(f, v) for f, v in zip(fields, pieces, strict=True))
    assert compile_arn_pattern(pattern).match(text) is expected


@given(
    fields=st.lists(st.text(alphabet="ab", max_size=3), min_size=5, max_size=5),
    last=st.text(alphabet="ab*?:", max_size=4),
    values=st.lists(st.text(alphabet="ab:", max_size=4), min_size=1, max_size=7),
)
def test_literal_leading_fields_match_field_by_field(fields: list[str], last: str, values: list[str]) -> None:
    """The literal-prefix shortcut (five literal components) agrees with matching each field."""
    pattern = ":".join([*fields, last])
    text = ":".join(values)
    pieces = text.split(":", 5)
    expected = len(pieces) == 6 and all(
        reference_match(f, v) for f, v in zip([*fields, last], pieces, strict=True)
    )
    assert compile_arn_pattern(pattern).match(text) is expected


# ---------------------------------------------------------------- pieces (policy variables)


def test_substituted_pieces_are_literal() -> None:
    m = compile_wildcard_parts((("home/", True), ("a*b", False), ("/*", True)))
    assert m.match("home/a*b/file")
    assert not m.match("home/aXb/file")
    assert not m.match("home/a*b")  # the `/` of the pattern piece is required
    q = compile_wildcard_parts((("x", True), ("?", False)))
    assert q.match("x?") and not q.match("xy")


def test_pieces_without_wildcards_are_an_equality_check() -> None:
    m = compile_wildcard_parts((("user/", True), ("*", False)))
    assert m.is_literal
    assert m.match("user/*") and not m.match("user/bob")


def test_arn_parts_keep_substituted_text_literal() -> None:
    arn = compile_arn_parts((("arn:aws:kms:*:111122223333:key/", True), ("id*", False)))
    assert arn.match("arn:aws:kms:us-west-2:111122223333:key/id*")
    assert not arn.match("arn:aws:kms:us-west-2:111122223333:key/id1")
    # a colon inside a substituted resource part stays in the resource component
    arn2 = compile_arn_parts((("arn:aws:kms:us-west-2:111122223333:", True), ("alias/a:b", False)))
    assert arn2.match("arn:aws:kms:us-west-2:111122223333:alias/a:b")
