"""The private singer-sdk surface is listed in one place (sdk_private.py) and still there.

Fails when the installed SDK lost a member the tap relies on (an upgrade to re-check), when the
package uses a private member of the SDK's classes that the list does not name, and when a
module other than sdk_private.py imports one of the SDK's private modules."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from singer_sdk import Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.streams import RESTStream

from tap_dlf_instances.sdk_private import CHECKED_WITH, PRIVATE_MEMBERS, StateWriter, StreamStateManager

PACKAGE = Path(__file__).resolve().parents[1] / "tap_dlf_instances"
#: The SDK classes the tap's classes extend: a private name found on one of them is the SDK's.
SDK_BASES = [Tap, RESTStream, StreamStateManager, StateWriter, MsgSpecWriter, BaseAPIPaginator]


def sdk_attributes(cls: type) -> set[str]:
    """The private names the SDK's classes in ``cls``'s ancestry define or assign on ``self``."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("singer_sdk"):
            continue
        names |= {name for name in vars(klass) if name.startswith("_")}
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        names |= set(re.findall(r"self\.(_[A-Za-z]\w*)\s*(?::[^=\n]+)?=(?!=)", source))
    return {name for name in names if not name.startswith("__")}


def listed_member(entry: str) -> tuple[str, str, str | None]:
    module, _, path = entry.partition(":")
    owner, _, member = path.partition(".")
    return module, owner, member or None


@pytest.mark.parametrize("entry", sorted(PRIVATE_MEMBERS))
def test_every_listed_private_member_is_still_in_the_installed_sdk(entry: str) -> None:
    module_name, owner, member = listed_member(entry)
    found = getattr(importlib.import_module(module_name), owner, None)
    assert found is not None, f"{entry}: {module_name}.{owner} is gone (checked with {CHECKED_WITH})"
    if member is not None:
        assert member in sdk_attributes(found), f"{entry}: gone from singer-sdk {version('singer-sdk')}"


def test_every_private_sdk_member_the_package_uses_is_listed() -> None:
    sdk_names = set().union(*(sdk_attributes(cls) for cls in SDK_BASES))
    listed = {member for entry in PRIVATE_MEMBERS if (member := listed_member(entry)[2])}
    used: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for name in re.findall(r"(?:self|super\(\)|cls)\.(_[A-Za-z]\w*)|def (_[A-Za-z]\w*)\(", source):
            for found in name:
                if found in sdk_names:
                    used.setdefault(found, set()).add(path.name)
    unlisted = {name: sorted(files) for name, files in used.items() if name not in listed}
    assert not unlisted, f"private singer-sdk members used but not in sdk_private.PRIVATE_MEMBERS: {unlisted}"


def test_only_sdk_private_imports_the_sdks_private_modules() -> None:
    importers = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            private = [
                m
                for m in modules
                if m.startswith("singer_sdk") and any(p.startswith("_") for p in m.split("."))
            ]
            if private and path.name != "sdk_private.py":
                importers.append(f"{path.relative_to(PACKAGE)}: {private}")
    assert not importers, importers


def test_the_list_was_read_for_the_installed_sdk_series() -> None:
    # pyproject.toml allows the patch releases of one series; a new series may rename private
    # members: someone reads the list again and moves CHECKED_WITH.
    series = ".".join(CHECKED_WITH.split(".")[:2])
    assert version("singer-sdk").startswith(f"{series}."), (version("singer-sdk"), CHECKED_WITH)
