"""The public surface of arbiter_client: explicit, sorted, and every name documented."""

from __future__ import annotations

import inspect
import sys

import arbiter_client


def test_all_is_sorted_and_complete() -> None:
    public = [
        name
        for name, value in vars(arbiter_client).items()
        if not name.startswith("_") and not inspect.ismodule(value)  # logging, sync
    ]
    assert arbiter_client.__all__ == sorted([*public, "__version__"])


def test_every_exported_class_and_function_has_a_docstring() -> None:
    for name in arbiter_client.__all__:
        member = getattr(arbiter_client, name)
        if inspect.isclass(member) or inspect.isfunction(member):
            assert inspect.getdoc(member), f"{name} has no docstring"


def test_one_exception_root() -> None:
    errors = [
        getattr(arbiter_client, name)
        for name in arbiter_client.__all__
        if inspect.isclass(getattr(arbiter_client, name))
        and issubclass(getattr(arbiter_client, name), BaseException)
    ]
    assert len(errors) == 14
    for error in errors:
        assert issubclass(error, arbiter_client.ArbiterError)
        tree = sys.modules[arbiter_client.ArbiterError.__module__].__doc__ or ""
        assert error.__name__ in tree  # drawn in the tree
