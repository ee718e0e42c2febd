"""The audit's fast paths give exactly what the plain ones gave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsauthz.audit import audit_paths
from kmsauthz.audit.engine import AuditReport
from kmsauthz.audit.findings import Finding, Severity, Suppression
from kmsauthz.audit.jsontext import _indented, _Unsupported
from kmsauthz.audit.report import report_dict, report_json
from kmsauthz.audit.rules import RULES, _plan
from kmsauthz.audit.rules._registry import Rule
from kmsauthz.model.policy import PolicyKind
from tests.audit.conftest import key_policy

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_indented_is_json_dumps_indent_2(value: object) -> None:
    assert _indented(value, "") == json.dumps(value, indent=2, ensure_ascii=False)


def test_report_json_is_json_dumps_of_the_report(tmp_path: Path) -> None:
    doc = key_policy({"Sid": "Ünïcode \"quoted\"\n", "Effect": "Allow", "Principal": "*", "Action": "kms:*",
                      "Resource": "*"})
    (tmp_path / "p.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    report = audit_paths([tmp_path])
    assert report.findings
    assert report_json(report) == json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"


def test_values_json_writes_otherwise_fall_back_to_json() -> None:
    class Sub(str):
        pass

    data = {"a": 1.5, "b": Sub("x")}
    try:
        _indented(data, "")
    except _Unsupported:
        pass
    else:
        raise AssertionError("a float must not be written by the fast encoder")


def test_rule_plans_follow_the_registry() -> None:
    before = _plan(PolicyKind.KEY)
    extra = Rule("zz-test-only", Severity.WARNING, "test", frozenset({PolicyKind.KEY}), lambda facts: iter(()))
    RULES[extra.id] = extra
    try:
        assert _plan(PolicyKind.KEY) == (*before, extra)
    finally:
        del RULES[extra.id]
    assert _plan(PolicyKind.KEY) == before


def test_a_linked_file_takes_the_sidecar_of_its_target(tmp_path: Path) -> None:
    """Sidecar folders are resolved once per folder, but a symbolic link still resolves to its target."""
    real, links = tmp_path / "real", tmp_path / "links"
    real.mkdir()
    links.mkdir()
    (tmp_path / ".git").mkdir()
    doc = key_policy({"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
                      "Resource": "*"})
    (real / "target.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    (real / ".kmsauthz-audit.yaml").write_text(
        "ignore:\n  - rule: public-access\n    file: target.json\n    sid: Public\n    reason: test\n",
        encoding="utf-8")
    (links / "plain.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    (links / "link.json").symlink_to(real / "target.json")
    report = audit_paths([links])
    public = {Path(f.file).name: f.suppressed for f in report.findings if f.rule == "public-access"}
    assert public["plain.json"] is None
    assert public["link.json"] is not None and public["link.json"].reason == "test"


def test_discover_counts_a_file_once_however_it_is_reached(tmp_path: Path) -> None:
    """Folders are resolved once each; a link to a file already found, or the file named again, is one file."""
    from kmsauthz.audit.inputs import discover

    real = tmp_path / "real"
    real.mkdir()
    (real / "a.json").write_text("{}", encoding="utf-8")
    (tmp_path / "link.json").symlink_to(real / "a.json")
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    files, _ = discover([real, tmp_path / "link.json", tmp_path / "alias" / "a.json", real / "a.json"])
    assert files == [real / "a.json"]


def _per_line_reference(report: AuditReport, color: bool | None) -> str:
    """The text report as written before batching: one rich `print` per line."""
    import io

    from rich.console import Console
    from rich.text import Text

    from kmsauthz.audit.report import STYLE, _lines, summary_line

    out = io.StringIO()
    console = Console(file=out, highlight=False, soft_wrap=True, emoji=False,
                      force_terminal=color if color else None, no_color=color is False,
                      color_system="auto" if color is not False else None)
    for line in _lines(report, show_suppressed=True):
        console.print(line)
    for file, resource in report.unresolved:
        console.print(Text(f"note: {file}: the policy of {resource} is only known at deploy time; not audited",
                           style="dim"))
    counts = report.counts()
    worst = next((s for s in Severity if counts[s.value]), None)
    console.print(Text(summary_line(report), style=STYLE[worst] if worst else "green"))
    return out.getvalue()


_tricky = st.text(st.sampled_from("ab \t\n\r\x07\x1b[]/:*`é漢字😀\u200b\ufe0f") | st.characters(), max_size=40)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(Severity)), _tricky, st.integers(0, 4),
                          st.integers(0, 30), st.sampled_from(["a.json", ":smile: [b].yaml", "c\tx.kmsp"])),
                max_size=12),
       st.text(st.sampled_from("ab \t\n漢😀\x07") | st.characters(), max_size=200),
       st.sampled_from([None, True, False]))
def test_batched_text_report_is_the_per_line_one(items: list[tuple[Severity, str, int, int, str]], source: str,
                                                 color: bool | None) -> None:
    import io

    from kmsauthz.audit.report import write_text

    report = AuditReport(files=len(items), policies=len(items))
    for n, (severity, message, line, column, file) in enumerate(items):
        report.findings.append(Finding(rule="r", severity=severity, title="t", message=message, file=file,
                                       line=line, column=column, sid=message[:5] or None,
                                       statement=n % 3 or None, origin=message[:3] or None,
                                       help=message[::-1] or None,
                                       suppressed=Suppression("why\t[x]", "inSource", "f:1") if n % 4 == 0
                                       else None))
        report.sources[file] = source
    report.findings.sort(key=Finding.sort_key)
    report.unresolved.append(("t.yaml", "AWS::KMS::Key K"))
    out = io.StringIO()
    write_text(report, out, color=color, show_suppressed=True)
    assert out.getvalue() == _per_line_reference(report, color)


def test_batches_larger_than_one_print(tmp_path: Path) -> None:
    import io

    from kmsauthz.audit import report as module

    report = AuditReport(files=1, policies=1)
    report.findings = [Finding(rule="r", severity=Severity.WARNING, title="t", message=f"m{i}", file="a.json",
                               line=i % 7, column=2) for i in range(module._BATCH * 2 + 5)]
    report.sources["a.json"] = "\n".join(f"line {i}\twith tab" for i in range(10))
    for color in (None, True, False):
        out = io.StringIO()
        module.write_text(report, out, color=color, show_suppressed=True)
        assert out.getvalue() == _per_line_reference(report, color)


def test_sarif_text_is_json_dumps_of_the_log(tmp_path: Path) -> None:
    from kmsauthz.audit.sarif import report_sarif, sarif_log

    doc = key_policy({"Sid": "Ünïcode", "Effect": "Allow", "Principal": "*", "Action": ["kms:*", "kms:Decrypt"],
                      "Resource": "*"})
    for name in ("a.json", "sub/b.json"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    report = audit_paths([tmp_path])
    assert len({f.file for f in report.findings}) == 2
    assert report_sarif(report, base=tmp_path) == json.dumps(sarif_log(report, base=tmp_path), indent=2,
                                                              ensure_ascii=False) + "\n"


def test_a_failing_link_check_falls_back_to_resolving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If lstat fails (a folder without search permission), the path is resolved whole, which never raises."""
    from kmsauthz.audit import inputs

    (tmp_path / "a.json").write_text("{}", encoding="utf-8")

    def denied(path: object) -> object:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(inputs.os, "lstat", denied)
    assert inputs.maybe_link(tmp_path / "a.json")
    files, _ = inputs.discover([tmp_path])
    assert files == [tmp_path / "a.json"]
