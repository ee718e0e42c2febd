"""A random workload of mutating KMS calls with a model of what committed, for fault tests.

Each step either succeeds (its effect goes into the model) or fails with a ``KMSError``; the
store is then compared with the model: what committed is there and whole, what failed is absent.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from hardening_support import ALICE, BOB, REGION, SEED_KEY, key_policy

from kmsauthz.kms import KMSError, LocalKMS


@dataclass
class KeyModel:
    blobs: list[tuple[bytes, bytes]] = field(default_factory=list)
    grants: set[str] = field(default_factory=set)
    rotations: int = 0
    scheduled: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    policy: str | None = None


@dataclass
class Model:
    keys: dict[str, KeyModel] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    successes: int = 0


class FaultyConnection:
    """Wraps the keystore's sqlite3 connection: writes (and COMMIT) fail at random, as a full disk."""

    WRITES = ("INSERT", "UPDATE", "DELETE", "COMMIT", "REPLACE")

    def __init__(self, real: sqlite3.Connection, rng: random.Random, rate: float,
                 message: str = "database or disk is full") -> None:
        self.real, self.rng, self.rate, self.message = real, rng, rate, message
        self.armed = True
        self.injected = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if self.armed and sql.lstrip().upper().startswith(self.WRITES) and self.rng.random() < self.rate:
            self.injected += 1
            raise sqlite3.OperationalError(self.message)
        return self.real.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _live_keys(m: Model) -> list[str]:
    return [k for k, v in m.keys.items() if not v.scheduled]


def step(kms: LocalKMS, m: Model, rng: random.Random, i: int, allowed: frozenset[str]) -> None:
    """One random mutating call; on success its effect is recorded, on a KMSError nothing is."""
    c = kms.client(ALICE, REGION)
    live = _live_keys(m)
    kind = rng.choice(["key", "key", "rotate", "grant", "schedule", "alias", "tag", "policy"]) if live else "key"
    key = rng.choice(live) if live else None
    try:
        if kind == "key":
            new = c.create_key(Description=f"h-{i}")["KeyMetadata"]["KeyId"]
            m.keys[new] = KeyModel()
            pt = f"plain-{i}".encode()
            m.keys[new].blobs.append((c.encrypt(KeyId=new, Plaintext=pt)["CiphertextBlob"], pt))
        elif kind == "rotate" and key and m.keys[key].rotations < 20:
            c.rotate_key_on_demand(KeyId=key)
            m.keys[key].rotations += 1
            pt = f"rotated-{i}".encode()
            m.keys[key].blobs.append((c.encrypt(KeyId=key, Plaintext=pt)["CiphertextBlob"], pt))
        elif kind == "grant" and key:
            c.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["Decrypt"], Name=f"g-{i}")
            m.keys[key].grants.add(f"g-{i}")
        elif kind == "schedule" and key:
            c.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
            m.keys[key].scheduled = True  # its aliases stay until the key is deleted
        elif kind == "alias" and key:
            c.create_alias(AliasName=f"alias/h-{i}", TargetKeyId=key)
            m.aliases[f"alias/h-{i}"] = key
        elif kind == "tag" and key:
            c.tag_resource(KeyId=key, Tags=[{"TagKey": f"t{i % 7}", "TagValue": str(i)}])
            m.keys[key].tags[f"t{i % 7}"] = str(i)
        elif kind == "policy" and key:
            text = json.dumps(key_policy({"Sid": f"S{i}", "Effect": "Allow", "Principal": {"AWS": BOB},
                                          "Action": "kms:DescribeKey", "Resource": "*"}))
            c.put_key_policy(KeyId=key, PolicyName="default", Policy=text)
            m.keys[key].policy = text
        else:
            return
        m.successes += 1
    except KMSError as exc:
        assert exc.code in allowed, f"{kind}: {exc.code}: {exc.message}"
        assert "Traceback" not in str(exc) and "sqlite" not in exc.message.lower(), exc.message
        assert not exc.message[:1].isupper() and not exc.message.endswith("."), exc.message
        m.failures[exc.code] = m.failures.get(exc.code, 0) + 1


def verify(kms: LocalKMS, m: Model) -> None:
    """The KMS (its cache, or a reopened store) holds exactly what the model says committed."""
    c = kms.client(ALICE, REGION)
    listed = {k["KeyId"] for k in c.list_keys(Limit=1000)["Keys"]} - {SEED_KEY}
    listed = {k for k in listed if c.describe_key(KeyId=k)["KeyMetadata"]["Description"].startswith("h-")}
    assert listed == set(m.keys), (sorted(listed ^ set(m.keys)))
    for key, km in m.keys.items():
        md = c.describe_key(KeyId=key)["KeyMetadata"]
        assert md["KeyState"] == ("PendingDeletion" if km.scheduled else "Enabled"), key
        if not km.scheduled:
            for blob, pt in km.blobs:
                assert c.decrypt(CiphertextBlob=blob)["Plaintext"] == pt
        assert {g["Name"] for g in c.list_grants(KeyId=key, Limit=100)["Grants"]} == km.grants
        assert len(c.list_key_rotations(KeyId=key, Limit=1000)["Rotations"]) == km.rotations
        assert {t["TagKey"]: t["TagValue"] for t in c.list_resource_tags(KeyId=key)["Tags"]} == km.tags
        if km.policy is not None:
            assert c.get_key_policy(KeyId=key, PolicyName="default")["Policy"] == km.policy
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in c.list_aliases(Limit=100)["Aliases"]
               if a["AliasName"].startswith("alias/h-")}
    assert aliases == m.aliases
