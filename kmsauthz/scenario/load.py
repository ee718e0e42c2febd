"""Scenario files → :class:`World` and :class:`Request` objects, validated, with positions.

Loading runs in three passes, and each reports every problem it finds before giving up:

1. parse (YAML, or strict JSON for ``.json`` files) keeping the line and column of every node;
2. validate the document against ``grammar/scenario.schema.json`` (unknown fields are errors);
3. build the world: every policy is loaded by :mod:`kmsauthz.syntax` (inline mappings with their
   YAML positions, ``{file: ...}`` and ``{dsl: ...}``), and the checks a schema cannot state run:
   duplicate keys in a Region, duplicate aliases, grants with both constraint kinds, unknown
   principals in cases, the `now` timestamp, ...

Problems are :class:`~kmsauthz.errors.Problem` values with spans; they are raised together as one
:class:`~kmsauthz.errors.ScenarioError`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from kmsauthz import catalog, syntax
from kmsauthz.errors import InputError, Problem, ScenarioError
from kmsauthz.model.policy import Policy, PolicyKind
from kmsauthz.model.request import Request
from kmsauthz.model.spans import Span, pointer_join
from kmsauthz.model.world import (
    DEFAULT_NOW,
    DEFAULT_REGION,
    AccessKey,
    AccountLayers,
    Grant,
    GrantConstraints,
    IamPrincipal,
    Key,
    Organization,
    VpcEndpoint,
    World,
)
from kmsauthz.scenario.schema import CODE, did_you_mean, schema_problems, where
from kmsauthz.scenario.yaml_source import Source, YamlError, compose_root_keys, parse_yaml
from kmsauthz.syntax.json_reader import read_json

SCENARIO_KEYS = frozenset({"cases", "keys", "principals"})
"""A document is a scenario file when its top level is a mapping with one of these fields."""

OUTCOMES = ("Allow", "ExplicitDeny", "ImplicitDeny")

_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$")
_SESSION = re.compile(r"^arn:aws[a-z-]*:sts::(\d{12}):assumed-role/([\w+=,.@-]+)/([\w+=,.@-]+)$")
_IAM = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):(user|role)/(?:.*/)?([\w+=,.@-]+)$")


@dataclass(frozen=True, slots=True)
class ScenarioCase:
    """One case: the request and what it must get."""

    name: str
    request: Request
    expect: str
    matched: tuple[str, ...]
    span: Span
    index: int

    @property
    def line(self) -> int:
        return self.span.line


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    world: World
    cases: tuple[ScenarioCase, ...]
    path: str
    description: str | None = None


# --- reading ---------------------------------------------------------------------------------


def _read_text(path: Path, shown: str) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError("file not found", Span(shown, 0, 0, "")) from None
    except IsADirectoryError:
        raise ScenarioError("is a folder, not a scenario file", Span(shown, 0, 0, "")) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror}", Span(shown, 0, 0, "")) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScenarioError(f"invalid UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded",
                            Span(shown, line, 0, "")) from None


def _parse(text: str, shown: str, *, json_file: bool) -> Source:
    if json_file:
        try:
            located = read_json(text, shown)
        except InputError as exc:
            raise ScenarioError([Problem(p.message, p.span, CODE, p.help) for p in exc.problems]) from None
        return Source(shown, text, located.value, dict(located.spans), dict(located.key_spans))
    try:
        return parse_yaml(text, shown)
    except YamlError as exc:
        raise ScenarioError(exc.problems) from None


def looks_like_scenario(path: str | Path) -> bool:
    """The discovery rule for folders: a YAML/JSON mapping with top-level `cases`, `keys` or `principals`.

    A file that is not YAML at all still counts when a line starts with one of those fields, so a
    scenario with a syntax error is reported rather than silently skipped.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return False
    keys = compose_root_keys(text)
    if keys is not None:
        return bool(keys & SCENARIO_KEYS)
    return re.search(r'^\s*"?(cases|keys|principals)"?\s*:', text, re.MULTILINE) is not None


# --- building --------------------------------------------------------------------------------


def _parse_now(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def default_grant_id(key_arn: str, name: str | None, index: int) -> str:
    """A stable 64-hex-digit grant id for a grant the file gives none: same file, same id."""
    return hashlib.sha256(f"{key_arn}\n{name or ''}\n{index}".encode()).hexdigest()


class _Loader:
    def __init__(self, src: Source, base_dir: Path | None) -> None:
        self.src = src
        self.base_dir = base_dir
        self.problems: list[Problem] = []

    def fail(self, pointer: str, message: str, help: str | None = None) -> None:
        self.problems.append(Problem(message, self.src.span(pointer), CODE, help))

    # policies ----------------------------------------------------------------------------
    def policy(self, value: Mapping[str, Any], pointer: str, kind: PolicyKind, name: str) -> Policy | None:
        try:
            if "file" in value:
                return self._policy_file(str(value["file"]), pointer_join(pointer, "file"), kind, name)
            if "dsl" in value:
                text = self._dsl_text(pointer_join(pointer, "dsl"), str(value["dsl"]))
                return syntax.load_policy_text(text, kind=kind, source=self.src.path, name=name, format="kmsp")
            return syntax.load_policy_document(value, kind=kind, source=self.src.path, name=name,
                                               locate=self.src.locator(pointer))
        except InputError as exc:
            self.problems.extend(exc.problems)
        except NotImplementedError as exc:
            self.fail(pointer, f"cannot load this policy: {exc}")
        return None

    def _policy_file(self, ref: str, pointer: str, kind: PolicyKind, name: str) -> Policy | None:
        if self.base_dir is None:
            self.fail(pointer, f"`{ref}`: a policy file can only be named from a scenario file on disk")
            return None
        path = Path(ref) if os.path.isabs(ref) else self.base_dir / ref
        shown = os.path.normpath(path) if os.path.isabs(ref) else os.path.normpath(
            os.path.join(os.path.dirname(self.src.path), ref))
        if not path.is_file():
            self.fail(pointer, f"policy file `{ref}` not found", f"looked for {shown}, relative to this scenario file")
            return None
        fmt = "kmsp" if path.suffix == ".kmsp" else "json"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.fail(pointer, f"cannot read policy file `{ref}`: {exc}")
            return None
        try:
            return syntax.load_policy_text(text, kind=kind, source=shown, name=f"{name} ({ref})", format=fmt)
        except InputError as exc:
            here = self.src.span(pointer).describe()
            self.problems.extend(
                Problem(p.message, p.span, p.code, p.help or f"policy file named at {here}") for p in exc.problems
            )
        return None

    def _dsl_text(self, pointer: str, text: str) -> str:
        """The `dsl` text padded so the policy language parser reports lines of the scenario file.

        A block scalar (`dsl: |`) starts on the line after its indicator and YAML strips the block's
        indentation; both are put back (the policy language ignores whitespace) so every span of
        the parsed policy names the line and column where the text stands in this file.
        """
        node = self.src.node(pointer)
        if not isinstance(node, yaml.ScalarNode) or node.start_mark is None:
            return text
        first = node.start_mark.line
        if node.style in ("|", ">"):
            lines = self.src.text.splitlines()
            indent = 0
            for raw in lines[first + 1:]:
                if raw.strip():
                    indent = len(raw) - len(raw.lstrip(" "))
                    break
            if node.style == "|":
                body = "\n".join((" " * indent + line) if line else line for line in text.split("\n"))
                return "\n" * (first + 1) + body
            return "\n" * (first + 1) + text
        column = node.start_mark.column + (1 if node.style in ("'", '"') else 0)
        return "\n" * first + " " * column + text

    # world -------------------------------------------------------------------------------
    def world(self) -> World:
        data: dict[str, Any] = self.src.value
        region = data.get("region", DEFAULT_REGION)
        now = DEFAULT_NOW
        if "now" in data:
            parsed = _parse_now(data["now"])
            if parsed is None:
                self.fail("/now", f"`now` is not an ISO 8601 date and time: {data['now']!r}",
                          "write it like 2026-01-01T00:00:00Z")
            else:
                now = parsed
        org = None
        if "organization" in data:
            o = data["organization"]
            org = Organization(id=o["id"], accounts=tuple(o.get("accounts", ())))
        accounts: dict[str, AccountLayers] = {}
        for acct, layers in data.get("accounts", {}).items():
            base = pointer_join("/accounts", acct)
            accounts[acct] = AccountLayers(
                scps=self._policies(layers.get("scps", ()), pointer_join(base, "scps"), PolicyKind.SCP,
                                    lambda i, a=acct: f"SCP {i + 1} of account {a}"),
                rcps=self._policies(layers.get("rcps", ()), pointer_join(base, "rcps"), PolicyKind.RCP,
                                    lambda i, a=acct: f"RCP {i + 1} of account {a}"),
            )
        keys = self._keys(data.get("keys", ()), region)
        principals = self._principals(data.get("principals", ()))
        endpoints = self._endpoints(data.get("vpc_endpoints", ()), region)
        return World(
            description=data.get("description"),
            region=region,
            now=now,
            organization=org,
            accounts=accounts,
            keys=keys,
            principals=principals,
            vpc_endpoints=endpoints,
            source=self.src.path,
        )

    def _policies(self, values: Any, pointer: str, kind: PolicyKind, name: Any) -> list[Policy]:
        out = []
        for i, value in enumerate(values):
            policy = self.policy(value, pointer_join(pointer, i), kind, name(i))
            if policy is not None:
                out.append(policy)
        return out

    def _keys(self, values: list[dict[str, Any]], default_region: str) -> list[Key]:
        keys: list[Key] = []
        seen: dict[tuple[str, str], str] = {}
        aliases: dict[tuple[str, str, str], str] = {}
        primaries: dict[tuple[str, str], str] = {}
        regions_by_id: dict[str, set[str]] = {}
        for k in values:
            regions_by_id.setdefault(k["id"], set()).add(k.get("region", default_region))
        for i, k in enumerate(values):
            ptr = pointer_join("/keys", i)
            key_id, account = k["id"], k["account"]
            region = k.get("region", default_region)
            if (key_id, region) in seen:
                self.fail(pointer_join(ptr, "id"), f"key `{key_id}` is declared twice in {region}",
                          f"the first is {seen[(key_id, region)]}; a key id may appear once per Region "
                          "(a multi-Region primary and its replicas)")
                continue
            seen[(key_id, region)] = where(ptr)
            mrt = k.get("multi_region_type")
            if mrt is not None and not key_id.startswith("mrk-"):
                self.fail(pointer_join(ptr, "multi_region_type"),
                          f"`multi_region_type` is only for multi-Region keys, and `{key_id}` is not one",
                          "multi-Region key ids start with mrk-")
            if mrt == "PRIMARY":
                if (key_id, account) in primaries:
                    self.fail(pointer_join(ptr, "multi_region_type"),
                              f"multi-Region key `{key_id}` has two primaries "
                              f"({primaries[(key_id, account)]} and {region})")
                primaries[(key_id, account)] = region
            for j, alias in enumerate(k.get("aliases", ())):
                slot = (account, region, alias)
                if slot in aliases:
                    self.fail(pointer_join(ptr, "aliases", j),
                              f"alias `{alias}` already names key `{aliases[slot]}` in account {account} "
                              f"and {region}", "alias names are unique per account and Region")
                aliases[slot] = key_id
            label = f"key policy of {key_id}" + (f" in {region}" if len(regions_by_id[key_id]) > 1 else "")
            policy = self.policy(k["policy"], pointer_join(ptr, "policy"), PolicyKind.KEY, label)
            arn = f"arn:aws:kms:{region}:{account}:key/{key_id}"
            grants = self._grants(k.get("grants", ()), ptr, arn, k)
            if policy is None:
                continue
            keys.append(Key(
                id=key_id,
                account=account,
                region=region,
                key_spec=k.get("key_spec", "SYMMETRIC_DEFAULT"),
                key_usage=k.get("key_usage"),
                origin=k.get("origin", "AWS_KMS"),
                state=k.get("state", "Enabled"),
                multi_region_type=mrt,
                aliases=tuple(k.get("aliases", ())),
                tags=dict(k.get("tags", {})),
                policy=policy,
                grants=grants,
                span=self.src.span(ptr),
            ))
        return keys

    def _grants(self, values: list[dict[str, Any]], key_ptr: str, key_arn: str, key: dict[str, Any]) -> list[Grant]:
        grant_ops = _grant_operations()
        out: list[Grant] = []
        ids: set[str] = set()
        for i, g in enumerate(values):
            ptr = pointer_join(key_ptr, "grants", i)
            constraints = None
            c = g.get("constraints")
            if c:
                if "encryption_context_equals" in c and "encryption_context_subset" in c:
                    self.fail(pointer_join(ptr, "constraints"),
                              "a grant's constraints hold either `encryption_context_equals` or "
                              "`encryption_context_subset`, not both")
                if key.get("key_spec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
                    self.fail(pointer_join(ptr, "constraints"),
                              "encryption context constraints are only valid in grants for symmetric "
                              f"encryption keys, and this key is {key['key_spec']}")
                constraints = GrantConstraints(
                    encryption_context_equals=c.get("encryption_context_equals"),
                    encryption_context_subset=c.get("encryption_context_subset"),
                )
            for j, op in enumerate(g["operations"]):
                if op not in grant_ops:
                    hint = did_you_mean(op.removeprefix("kms:"), sorted(grant_ops))
                    self.fail(pointer_join(ptr, "operations", j), f"`{op}` is not a grant operation",
                              hint or f"grant operations are {', '.join(sorted(grant_ops))}")
            grant_id = g.get("grant_id") or default_grant_id(key_arn, g.get("name"), i)
            if grant_id in ids:
                self.fail(pointer_join(ptr, "grant_id"), f"grant id `{grant_id}` is used twice on this key")
            ids.add(grant_id)
            out.append(Grant(
                grant_id=grant_id,
                name=g.get("name"),
                grantee=g["grantee"],
                retiring=g.get("retiring"),
                operations=tuple(g["operations"]),
                constraints=constraints,
                issuing_account=g.get("issuing_account", key["account"]),
                token=g.get("token"),
                pending=bool(g.get("pending", False)),
                span=self.src.span(ptr),
            ))
        return out

    def _principals(self, values: list[dict[str, Any]]) -> list[IamPrincipal]:
        out: list[IamPrincipal] = []
        seen: set[str] = set()
        key_ids: set[str] = set()
        for i, p in enumerate(values):
            ptr = pointer_join("/principals", i)
            arn = p["arn"]
            if arn in seen:
                self.fail(pointer_join(ptr, "arn"), f"principal `{arn}` is declared twice")
                continue
            seen.add(arn)
            is_role = ":role/" in arn
            policies = self._policies(p.get("policies", ()), pointer_join(ptr, "policies"), PolicyKind.IDENTITY,
                                      lambda n, a=arn: f"policy {n + 1} of {a}")
            boundary = None
            if "permissions_boundary" in p:
                boundary = self.policy(p["permissions_boundary"], pointer_join(ptr, "permissions_boundary"),
                                       PolicyKind.PERMISSIONS_BOUNDARY, f"permissions boundary of {arn}")
            access_keys: list[AccessKey] = []
            for j, ak in enumerate(p.get("access_keys", ())):
                aptr = pointer_join(ptr, "access_keys", j)
                if ak["id"] in key_ids:
                    self.fail(pointer_join(aptr, "id"), f"access key `{ak['id']}` is declared twice")
                key_ids.add(ak["id"])
                if "session" in ak and not is_role:
                    self.fail(pointer_join(aptr, "session"), "`session` is only for a role's access keys",
                              "an IAM user's access keys authenticate as the user itself")
                session_policy = None
                if "session_policy" in ak:
                    if "session" not in ak:
                        self.fail(pointer_join(aptr, "session_policy"),
                                  "`session_policy` needs `session`: it applies to an assumed-role session")
                    session_policy = self.policy(ak["session_policy"], pointer_join(aptr, "session_policy"),
                                                 PolicyKind.SESSION, f"session policy of access key {ak['id']}")
                access_keys.append(AccessKey(id=ak["id"], secret=SecretStr(ak["secret"]), session=ak.get("session"),
                                             session_policy=session_policy))
            out.append(IamPrincipal(
                arn=arn,
                policies=policies,
                permissions_boundary=boundary,
                tags=dict(p.get("tags", {})),
                access_keys=access_keys,
                span=self.src.span(ptr),
            ))
        return out

    def _endpoints(self, values: list[dict[str, Any]], default_region: str) -> list[VpcEndpoint]:
        out: list[VpcEndpoint] = []
        seen: set[str] = set()
        for i, e in enumerate(values):
            ptr = pointer_join("/vpc_endpoints", i)
            if e["id"] in seen:
                self.fail(pointer_join(ptr, "id"), f"VPC endpoint `{e['id']}` is declared twice")
                continue
            seen.add(e["id"])
            policy = None
            if "policy" in e:
                policy = self.policy(e["policy"], pointer_join(ptr, "policy"), PolicyKind.VPC_ENDPOINT,
                                     f"endpoint policy of {e['id']}")
            out.append(VpcEndpoint(id=e["id"], vpc=e["vpc"], region=e.get("region", default_region), policy=policy))
        return out

    # cases -------------------------------------------------------------------------------
    def cases(self, world: World) -> tuple[ScenarioCase, ...]:
        principals = {p.arn: p for p in world.principals}
        roles = {(p.account, p.arn.rsplit("/", 1)[-1]) for p in world.principals if ":role/" in p.arn}
        out: list[ScenarioCase] = []
        for i, c in enumerate(self.src.value.get("cases", ())):
            ptr = pointer_join("/cases", i)
            principal = c["principal"]
            kind = self._principal_kind(principal, principals, roles, pointer_join(ptr, "principal"))
            if catalog.operation(c["action"]) is None:
                hint = did_you_mean(c["action"], sorted(op.action for op in catalog.OPERATIONS.values()))
                self.fail(pointer_join(ptr, "action"), f"unknown KMS action `{c['action']}`", hint)
            session_policy = None
            if "session_policy" in c:
                if kind not in ("role", "session"):
                    self.fail(pointer_join(ptr, "session_policy"),
                              "`session_policy` applies only to a role's session, and this case's principal "
                              "is not a role", "name the session: arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION")
                session_policy = self.policy(c["session_policy"], pointer_join(ptr, "session_policy"),
                                             PolicyKind.SESSION, f"session policy of {principal}")
            if "source_ip" in c:
                try:
                    ipaddress.ip_address(c["source_ip"])
                except ValueError:
                    self.fail(pointer_join(ptr, "source_ip"),
                              f"`source_ip` must be an IPv4 or IPv6 address, got `{c['source_ip']}`")
            ctx = c.get("context", {})
            request = Request(
                principal=principal,
                action=c["action"],
                key=c.get("key"),
                region=c.get("region"),
                session_policy=session_policy,
                vpc_endpoint=c.get("vpc_endpoint"),
                source_ip=c.get("source_ip"),
                via_service=c.get("via_service"),
                encryption_context=dict(c["encryption_context"]) if "encryption_context" in c else None,
                grant_tokens=tuple(c.get("grant_tokens", ())),
                parameters=dict(c.get("parameters", {})),
                context=dict(ctx),
            )
            out.append(ScenarioCase(
                name=c["name"],
                request=request,
                expect=c["expect"],
                matched=tuple(c.get("matched", ())),
                span=self.src.span(ptr),
                index=i,
            ))
        return tuple(out)

    def _principal_kind(self, arn: str, principals: dict[str, IamPrincipal], roles: set[tuple[str, str]],
                        pointer: str) -> str | None:
        if arn in principals:
            return "role" if ":role/" in arn else "user"
        if _ROOT.match(arn):
            return "root"
        if _SERVICE.match(arn):
            return "service"
        m = _SESSION.match(arn)
        if m and (m.group(1), m.group(2)) in roles:
            return "session"
        if m:
            self.fail(pointer, f"`{arn}` is a session of role `{m.group(2)}`, which is not declared "
                               f"in account {m.group(1)}",
                      f"declare arn:aws:iam::{m.group(1)}:role/{m.group(2)} under `principals`")
            return None
        hint = did_you_mean(arn, principals)
        self.fail(pointer, f"unknown principal `{arn}`",
                  (hint + " " if hint else "") + "a case's principal is a user or role declared under `principals`, "
                  "an assumed-role session of a declared role (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION), "
                  "an account root (arn:aws:iam::ACCOUNT:root) or a service principal (logs.us-east-1.amazonaws.com); "
                  "AWS would not authenticate a principal that does not exist")
        return None


def _grant_operations() -> frozenset[str]:
    """Grant operation names as grants spell them (``Decrypt``), from the KMS catalog."""
    return frozenset(a.removeprefix("kms:") for a in catalog.GRANT_OPERATIONS)


# --- public API ------------------------------------------------------------------------------


def _load_source(src: Source, base_dir: Path | None) -> tuple[World, tuple[ScenarioCase, ...]]:
    if not isinstance(src.value, dict):
        raise ScenarioError("a scenario file is a mapping with `keys`, `principals` and `cases`",
                            src.span(""))
    if "Statement" in src.value and not SCENARIO_KEYS & src.value.keys():
        raise ScenarioError([Problem("this is a policy document, not a scenario file", src.span(""), CODE,
                                     "a scenario names policy files from its keys and principals: "
                                     "`policy: {file: path/to/policy.json}`")])
    problems = schema_problems(src)
    if problems:
        raise ScenarioError(problems)
    loader = _Loader(src, base_dir)
    world = loader.world()
    cases = loader.cases(world)
    if loader.problems:
        raise ScenarioError(sorted(loader.problems, key=_position))
    return world, cases


def _position(p: Problem) -> tuple[str, int, int]:
    return (p.span.source, p.span.line, p.span.column) if p.span else ("", 0, 0)


def _source_from_path(path: str | os.PathLike[str], shown: str | None = None) -> tuple[Source, Path]:
    p = Path(path)
    shown = shown or os.fspath(path)
    text = _read_text(p, shown)
    return _parse(text, shown, json_file=p.suffix.lower() == ".json"), p.parent


def load_scenario(path: str | os.PathLike[str], *, display_path: str | None = None) -> ScenarioFile:
    """Load and validate a scenario file; raise :class:`ScenarioError` listing every problem.

    Messages and spans name the file as ``display_path`` (default: ``path`` as given).
    """
    src, base = _source_from_path(path, display_path)
    world, cases = _load_source(src, base)
    return ScenarioFile(world=world, cases=cases, path=src.path, description=world.description)


def load_scenario_text(text: str, *, path: str = "<scenario>", base_dir: str | Path | None = None) -> ScenarioFile:
    """Load a scenario from YAML/JSON text (``{file: ...}`` policies resolve against ``base_dir``)."""
    src = _parse(text, path, json_file=False)
    world, cases = _load_source(src, Path(base_dir) if base_dir is not None else None)
    return ScenarioFile(world=world, cases=cases, path=path, description=world.description)


def load_world(source: str | os.PathLike[str] | Mapping[str, Any], *, base_dir: str | Path | None = None) -> World:
    """The world of a scenario file (its `cases`, if any, are validated too but not returned).

    ``source`` is a path, or the same structure as a mapping (no line numbers then; policy files
    named by ``{file: ...}`` resolve against ``base_dir``, default the current folder).
    """
    if isinstance(source, Mapping):
        src = Source("<world>", "", _plain(source))
        world, _ = _load_source(src, Path(base_dir) if base_dir is not None else Path.cwd())
        return world
    src, base = _source_from_path(source)
    world, _ = _load_source(src, base)
    return world


def _plain(value: Any) -> Any:
    """A mapping given by a caller, as JSON-shaped values (datetimes → ISO text, tuples → lists)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


COMMAND_LINE = "<command line>"


def load_request(world: str | os.PathLike[str], case: Mapping[str, Any]) -> tuple[World, Request]:
    """The world of a file and one request given as a CASE mapping (without `name`/`expect`).

    The request is validated exactly as a case in the file would be (schema, known principal,
    known action, ...); its problems name the command-line option (`--source-ip`), not a line.
    """
    src, base = _source_from_path(world)
    if not isinstance(src.value, dict):
        raise ScenarioError("a world file is a mapping with `keys` and `principals`", src.span(""))
    src.value = {**src.value, "cases": [{"name": "command line", "expect": "Allow", **_plain(case)}]}
    try:
        world_obj, cases = _load_source(src, base)
    except ScenarioError as exc:
        raise ScenarioError([_option_problem(p) for p in exc.problems]) from None
    return world_obj, cases[0].request


def _option_problem(p: Problem) -> Problem:
    pointer = p.span.pointer if p.span is not None else ""
    if not pointer.startswith("/cases/0"):
        return p
    field = pointer.split("/")[3] if pointer.count("/") >= 3 else ""
    option = "--" + field.replace("_", "-") if field else "the request"
    message = re.sub(r"\bcases\[0\]\.?([A-Za-z_]+)?", lambda m: option, p.message)
    return Problem(message if option in message else f"{option}: {message}", Span(COMMAND_LINE, 0, 0, pointer),
                   p.code, p.help)
