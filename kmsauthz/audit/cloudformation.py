"""Key policies and KMS-related IAM policies inside CloudFormation templates (JSON or YAML).

Intrinsic functions are resolved as far as the template alone allows. What is only known at deploy
time (`AWS::AccountId`, parameters, `Fn::ImportValue`, most `Fn::GetAtt`) becomes a visible
placeholder such as `«Ref PartnerAccount»`, never an error; accounts that are unknown get a
placeholder account id so that the ARNs stay well-formed, and messages print them back as written
(`${AWS::AccountId}`). `Fn::If` takes its first branch (its second when the first is
`AWS::NoValue`), so conditional statements are audited too.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kmsauthz.audit.located import Node
from kmsauthz.audit.target import UNKNOWN_ACCOUNT, AuditTarget
from kmsauthz.model.policy import PolicyKind
from kmsauthz.model.spans import Span, pointer_join

REGION = "zz-deploy-1"
"""Stands for `AWS::Region`; printed back as `${AWS::Region}`."""

KEY_TYPES = {"AWS::KMS::Key": "KeyPolicy", "AWS::KMS::ReplicaKey": "KeyPolicy"}
IAM_DOCUMENT_TYPES = {
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::IAM::RolePolicy": "PolicyDocument",
    "AWS::IAM::UserPolicy": "PolicyDocument",
    "AWS::IAM::GroupPolicy": "PolicyDocument",
}
IAM_INLINE_TYPES = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
_NO_VALUE = object()
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")
_ACCOUNT_VAR = re.compile(r":(?:iam|sts)::\$\{([^}!]+)\}:")
_PRINCIPAL_ARN = re.compile(r"^arn:([^:]*):(iam|sts)::([^:]*):(.*)$")


def is_template(root: Node) -> bool:
    """A mapping with `Resources` whose entries have an `AWS::`-style `Type`, or a format version."""
    if root.kind != "map":
        return False
    if "AWSTemplateFormatVersion" in root.items:
        return True
    res = root.get("Resources")
    if res is None or res.kind != "map":
        return False
    return any(
        (t := r.get("Type")) is not None and isinstance(t.value, str) and "::" in t.value
        for r in res.items.values()
    )


@dataclass
class Embedded:
    """One policy document found in a template, already resolved to plain values."""

    document: Any
    kind: PolicyKind
    origin: str
    base_pointer: str
    spans: dict[str, tuple[int, int]]
    display: dict[str, str]
    key_spec: str | None = None
    multi_region: bool | None = None
    unresolved: bool = False


@dataclass
class _Resolver:
    template: Node
    display: dict[str, str] = field(default_factory=dict)
    _accounts: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.display[UNKNOWN_ACCOUNT] = "${AWS::AccountId}"
        self.display[REGION] = "${AWS::Region}"
        res = self.template.get("Resources")
        self.types: dict[str, str] = {}
        if res is not None and res.kind == "map":
            for name, r in res.items.items():
                t = r.get("Type")
                if t is not None and isinstance(t.value, str):
                    self.types[name] = t.value
        params = self.template.get("Parameters")
        self.parameters = set(params.items) if params is not None and params.kind == "map" else set()

    # -- placeholders --------------------------------------------------------------------------

    def account_for(self, written: str) -> str:
        """A stable placeholder account id for an account only known at deploy time."""
        if written not in self._accounts:
            placeholder = f"9{len(self._accounts) + 1:011d}"
            self._accounts[written] = placeholder
            self.display[placeholder] = written
        return self._accounts[written]

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": UNKNOWN_ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "«AWS::StackName»",
            "AWS::StackId": "«AWS::StackId»", "AWS::NotificationARNs": [], "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        return f"«Ref {name}»"

    def get_att(self, name: str, attr: str) -> str:
        kind = self.types.get(name)
        if attr == "Arn":
            if kind == "AWS::IAM::Role":
                return self._named_arn(f"arn:aws:iam::{UNKNOWN_ACCOUNT}:role/{name}", f"!GetAtt {name}.Arn")
            if kind == "AWS::IAM::User":
                return self._named_arn(f"arn:aws:iam::{UNKNOWN_ACCOUNT}:user/{name}", f"!GetAtt {name}.Arn")
            if kind in KEY_TYPES:
                return self._named_arn(f"arn:aws:kms:{REGION}:{UNKNOWN_ACCOUNT}:key/{name}", f"!GetAtt {name}.Arn")
        return f"«GetAtt {name}.{attr}»"

    def _named_arn(self, arn: str, written: str) -> str:
        self.display[arn] = written
        return arn

    # -- resolution ----------------------------------------------------------------------------

    def resolve(self, node: Node, pointer: str, spans: dict[str, tuple[int, int]]) -> Any:
        spans.setdefault(pointer, (node.line, node.column))
        fn = self._intrinsic(node)
        if fn is not None:
            name, arg = fn
            value = self._apply(name, arg, pointer, spans)
            return value
        if node.kind == "map":
            out: dict[str, Any] = {}
            for k, v in node.items.items():
                value = self.resolve(v, pointer_join(pointer, k), spans)
                if value is not _NO_VALUE:
                    out[k] = value
            return out
        if node.kind == "seq":
            items: list[Any] = []
            for e in node.elements:
                value = self.resolve(e, pointer_join(pointer, len(items)), spans)
                if value is not _NO_VALUE:
                    items.append(value)
            return items
        return node.value

    @staticmethod
    def _intrinsic(node: Node) -> tuple[str, Node] | None:
        if node.tag is not None:
            name = node.tag[1:]
            return ("Ref" if name == "Ref" else name if name == "Condition" else f"Fn::{name}"), node
        if node.kind == "map" and len(node.items) == 1:
            (key, value), = node.items.items()
            if key == "Ref" or key.startswith("Fn::"):
                return key, value
        return None

    def _apply(self, name: str, arg: Node, pointer: str, spans: dict[str, tuple[int, int]]) -> Any:
        if arg.tag is not None and name not in ("Ref",):
            arg = Node(arg.kind, arg.value, None, arg.line, arg.column, arg.items, arg.elements)
        scratch: dict[str, tuple[int, int]] = {}
        if name == "Ref":
            return self.ref(str(arg.value))
        if name == "Fn::GetAtt":
            if arg.kind == "scalar" and isinstance(arg.value, str):
                res, _, attr = arg.value.partition(".")
            else:
                parts = [self._text(self.resolve(e, pointer, scratch)) for e in arg.elements]
                res, attr = ([*parts, "", ""])[:2]
            return self.get_att(res, attr)
        if name == "Fn::Sub":
            return self._sub(arg, pointer, spans)
        if name == "Fn::Join":
            parts = self.resolve(arg, pointer, scratch)
            if isinstance(parts, list) and len(parts) == 2 and isinstance(parts[1], list):
                return self._text(parts[0]).join(self._text(p) for p in parts[1])
            return "«Fn::Join»"
        if name == "Fn::Select":
            parts = self.resolve(arg, pointer, scratch)
            if isinstance(parts, list) and len(parts) == 2 and isinstance(parts[1], list):
                try:
                    return parts[1][int(parts[0])]
                except (ValueError, IndexError, TypeError):
                    return "«Fn::Select»"
            return "«Fn::Select»"
        if name == "Fn::Split":
            parts = self.resolve(arg, pointer, scratch)
            if isinstance(parts, list) and len(parts) == 2 and isinstance(parts[1], str) and "«" not in parts[1]:
                return parts[1].split(self._text(parts[0]))
            return ["«Fn::Split»"]
        if name == "Fn::If":
            if arg.kind == "seq" and len(arg.elements) == 3:
                first = self.resolve(arg.elements[1], pointer, spans)
                if first is not _NO_VALUE:
                    return first
                return self.resolve(arg.elements[2], pointer, spans)
            return "«Fn::If»"
        if name == "Fn::FindInMap":
            return self._find_in_map(arg, pointer, scratch)
        if name == "Fn::ToJsonString":
            return json.dumps(self.resolve(arg, pointer, spans))
        if name == "Fn::ImportValue":
            return f"«ImportValue {self._text(self.resolve(arg, pointer, scratch))}»"
        return f"«{name}»"

    def _find_in_map(self, arg: Node, pointer: str, scratch: dict[str, tuple[int, int]]) -> Any:
        parts = self.resolve(arg, pointer, scratch)
        maps = self.template.get("Mappings")
        if isinstance(parts, list) and len(parts) >= 3 and maps is not None:
            node: Node | None = maps
            for p in parts[:3]:
                node = node.get(str(p)) if node is not None else None
            if node is not None:
                return self.resolve(node, pointer, scratch)
        return "«Fn::FindInMap»"

    def _sub(self, arg: Node, pointer: str, spans: dict[str, tuple[int, int]]) -> Any:
        scratch: dict[str, tuple[int, int]] = {}
        variables: dict[str, Any] = {}
        if arg.kind == "seq" and arg.elements:
            template = arg.elements[0].value
            if len(arg.elements) > 1 and arg.elements[1].kind == "map":
                for k, v in arg.elements[1].items.items():
                    variables[k] = self.resolve(v, pointer, scratch)
        else:
            template = arg.value
        if not isinstance(template, str):
            return "«Fn::Sub»"
        account_vars = set(_ACCOUNT_VAR.findall(template))

        def replace(m: re.Match[str]) -> str:
            var = m.group(1)
            if var.startswith("!"):
                return "${" + var[1:] + "}"
            if var in variables:
                return self._text(variables[var])
            if var in account_vars and var != "AWS::AccountId":
                return self.account_for("${" + var + "}")
            if "." in var and not var.startswith("AWS::"):
                res, _, attr = var.partition(".")
                return self.get_att(res, attr)
            return self._text(self.ref(var))

        return _SUB_VAR.sub(replace, template)

    @staticmethod
    def _text(value: Any) -> str:
        if value is _NO_VALUE:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        return "«value»"

    # -- principals ----------------------------------------------------------------------------

    def fix_principals(self, document: Any) -> None:
        """Give unknown principal values a well-formed placeholder ARN (printed back as written)."""
        if not isinstance(document, dict):
            return
        statements = document.get("Statement")
        for st in statements if isinstance(statements, list) else [statements]:
            if not isinstance(st, dict):
                continue
            for field_name in ("Principal", "NotPrincipal"):
                p = st.get(field_name)
                if isinstance(p, dict) and "AWS" in p:
                    values = p["AWS"]
                    if isinstance(values, list):
                        p["AWS"] = [self._principal_value(v) for v in values]
                    else:
                        p["AWS"] = self._principal_value(values)

    def _principal_value(self, value: Any) -> Any:
        if not isinstance(value, str) or "«" not in value:
            return value
        m = _PRINCIPAL_ARN.match(value)
        if m and "«" not in m.group(3):
            return value
        if m:
            return f"arn:{m.group(1)}:{m.group(2)}::{self.account_for(m.group(3))}:{m.group(4)}"
        placeholder = f"arn:aws:iam::{self.account_for(value)}:role/unknown-principal"
        self.display[placeholder] = value
        return placeholder


def embedded_policies(root: Node) -> Iterator[Embedded]:
    """Every key policy, and every IAM policy that names KMS actions, in a template."""
    resolver = _Resolver(root)
    resources = root.get("Resources")
    if resources is None or resources.kind != "map":
        return
    for name, res in resources.items.items():
        rtype = resolver.types.get(name, "")
        props = res.get("Properties")
        if props is None or props.kind != "map":
            continue
        base = pointer_join("/Resources", name, "Properties")
        if rtype in KEY_TYPES:
            doc_node = props.get(KEY_TYPES[rtype])
            if doc_node is None:
                continue  # no KeyPolicy: KMS attaches the default key policy
            spec = props.get("KeySpec")
            multi = props.get("MultiRegion")
            yield _embed(resolver, doc_node, PolicyKind.KEY, f"{rtype} {name}",
                         pointer_join(base, KEY_TYPES[rtype]),
                         key_spec=spec.value if spec is not None and isinstance(spec.value, str) else None,
                         multi_region=(multi.value is True) if multi is not None else (rtype == "AWS::KMS::ReplicaKey"))
        elif rtype in IAM_DOCUMENT_TYPES:
            doc_node = props.get(IAM_DOCUMENT_TYPES[rtype])
            if doc_node is not None:
                emb = _embed(resolver, doc_node, PolicyKind.IDENTITY, f"{rtype} {name}",
                             pointer_join(base, IAM_DOCUMENT_TYPES[rtype]))
                if names_kms_actions(emb.document):
                    yield emb
        elif rtype in IAM_INLINE_TYPES:
            policies = props.get("Policies")
            if policies is None or policies.kind != "seq":
                continue
            for i, entry in enumerate(policies.elements):
                doc_node = entry.get("PolicyDocument")
                if doc_node is None:
                    continue
                pname = entry.get("PolicyName")
                label = f"{rtype} {name} policy {pname.value if pname is not None else i}"
                emb = _embed(resolver, doc_node, PolicyKind.IDENTITY, label,
                             pointer_join(base, "Policies", i, "PolicyDocument"))
                if names_kms_actions(emb.document):
                    yield emb


def _embed(resolver: _Resolver, node: Node, kind: PolicyKind, origin: str, base: str, **extra: Any) -> Embedded:
    spans: dict[str, tuple[int, int]] = {}
    document = resolver.resolve(node, "", spans)
    if isinstance(document, str) and document.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):
            document = json.loads(document)  # a KeyPolicy given as a JSON string
    unresolved = not isinstance(document, dict)
    if not unresolved:
        resolver.fix_principals(document)
    return Embedded(document, kind, origin, base, spans, resolver.display, unresolved=unresolved, **extra)


def names_kms_actions(document: Any) -> bool:
    """Whether an IAM policy document can grant or deny any KMS action."""
    if not isinstance(document, dict):
        return False
    statements = document.get("Statement")
    for st in statements if isinstance(statements, list) else [statements]:
        if not isinstance(st, dict):
            continue
        if "NotAction" in st:
            return True
        actions = st.get("Action")
        for a in actions if isinstance(actions, list) else [actions]:
            if isinstance(a, str) and (a == "*" or a.lower().startswith(("kms:", "km*", "k*"))):
                return True
    return False


def locate_for(file: str, spans: dict[str, tuple[int, int]]) -> Callable[[str], Span | None]:
    def locate(pointer: str) -> Span | None:
        probe = pointer
        while True:
            found = spans.get(probe)
            if found is not None:
                return Span(file, found[0], found[1], pointer)
            if not probe:
                return None
            probe = probe.rpartition("/")[0]

    return locate


def target_for(file: str, emb: Embedded, policy: Any) -> AuditTarget:
    return AuditTarget(
        policy=policy, file=file, origin=emb.origin, account=UNKNOWN_ACCOUNT if emb.kind is PolicyKind.KEY else None,
        base_pointer=emb.base_pointer, display=dict(sorted(emb.display.items(), key=lambda kv: -len(kv[0]))),
        key_spec=emb.key_spec, multi_region=emb.multi_region,
    )
