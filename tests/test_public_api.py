"""`kmsauthz.__all__` is exactly the public surface, and every name in it resolves."""

from __future__ import annotations

import subprocess
import sys
import types

import kmsauthz


def test_every_public_name_resolves_to_the_object_of_its_module() -> None:
    import kmsauthz.evaluate as evaluate
    import kmsauthz.syntax as syntax

    for name in kmsauthz.__all__:
        assert getattr(kmsauthz, name) is not None, name
    assert kmsauthz.Authorizer is evaluate.Authorizer
    assert kmsauthz.load_policy_text is syntax.load_policy_text


def test_all_lists_exactly_the_public_names() -> None:
    # submodules appear as attributes once anything imports them; they are not the API
    public = {n for n in dir(kmsauthz)
              if not n.startswith("_") and not isinstance(getattr(kmsauthz, n), types.ModuleType)}
    assert public | {"__version__"} == set(kmsauthz.__all__)


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        kmsauthz.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_the_package_loads_no_heavy_dependency() -> None:
    code = ("import sys, kmsauthz; heavy = [m for m in ('pydantic', 'lark', 'jsonschema', 'cryptography', "
            "'botocore') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_docstring_example_decides() -> None:
    from kmsauthz import Authorizer, Request, load_world

    world = load_world({
        "keys": [{"id": "1234abcd-12ab-34cd-56ef-1234567890ab", "account": "111122223333",
                  "aliases": ["alias/orders"],
                  "policy": {"Version": "2012-10-17", "Statement": [{
                      "Sid": "AppDecrypts", "Effect": "Allow",
                      "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"},
                      "Action": "kms:Decrypt", "Resource": "*"}]}}],
        "principals": [{"arn": "arn:aws:iam::111122223333:role/app"}],
    })
    decision = Authorizer(world).decide(Request(principal="arn:aws:iam::111122223333:role/app",
                                                action="kms:Decrypt", key="alias/orders"))
    assert decision.outcome == "Allow"
    assert [m.label for m in decision.matched] == ["AppDecrypts"]
    denied = Authorizer(world).decide(Request(principal="arn:aws:iam::111122223333:role/app",
                                              action="kms:Encrypt", key="alias/orders"))
    assert denied.outcome == "ImplicitDeny"


def test_all_and_the_lazy_table_agree() -> None:
    assert set(kmsauthz.__all__) == set(kmsauthz._WHERE) | {"__version__"}
