"""The demo's data files: YAML in data/, each checked against its kind's JSON Schema in data/schemas/.

A file is found by its kind (`read("catalog")` reads catalog.yaml) or, for a kind with one file per
hospital, by the hospital's short code (`read("hospital", "huangpu")` reads hospitals/huangpu.yaml).
Every file is checked whole before its loader uses it, and a refused file names itself and the place of
every bad value (`hospitals/huangpu.yaml, at prices.CON-GP: ...`), so nothing is written from it.

Scalars are read as YAML 1.2 reads them: only true/false are booleans and dates stay text, so a country
code NO or a date 2026-01-01 reaches the schema as written.
"""

import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from laihua.errors import InvalidInput

DATA_DIR = Path(__file__).resolve().parent / "data"
SCHEMA_DIR = DATA_DIR / "schemas"
# Kinds kept as one file per hospital, in a folder of their own.
PER_HOSPITAL = {"hospital": "hospitals"}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Safe YAML with YAML 1.2's core scalars, refusing a key given twice."""

    yaml_implicit_resolvers: dict = {}

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                continue  # refused by the constructor itself as unhashable
            if key in seen:
                raise yaml.MarkedYAMLError(
                    problem=_("“%(key)s” appears twice.") % {"key": key}, problem_mark=key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


for _tag, _pattern, _first in (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?[0-9]+", "-+0123456789"),
    ("float", r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?", "-+.0123456789"),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
):
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), list(_first))
_Loader.add_constructor("tag:yaml.org,2002:int", lambda loader, node: int(loader.construct_scalar(node)))


def path_of(kind: str, code: str | None = None, directory: Path | None = None) -> Path:
    """Where the file of a kind (or of one hospital, by short code) lives."""
    directory = directory or DATA_DIR
    if code is None:
        return directory / f"{kind}.yaml"
    return directory / PER_HOSPITAL[kind] / f"{code}.yaml"


def read(kind: str, code: str | None = None, directory: Path | None = None) -> Any:
    """The file's content, checked against schemas/<kind>.schema.json; InvalidInput names every bad value."""
    directory = directory or DATA_DIR
    path = path_of(kind, code, directory)
    name = path.relative_to(directory).as_posix()
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InvalidInput(_("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror}) from None
    except UnicodeDecodeError:
        raise InvalidInput(_("%(path)s is not UTF-8 text.") % {"path": path}) from None
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise InvalidInput(
            _("%(file)s, line %(line)s: %(message)s") % {"file": name, "line": line, "message": exc.problem}
        ) from None
    problems = sorted(
        _validator(kind).iter_errors(document),
        key=lambda error: [(isinstance(step, str), step) for step in error.absolute_path],
    )
    if problems:
        raise InvalidInput("\n".join(_where(name, error.absolute_path, error.message) for error in problems))
    return document


def require(kind: str, at: Iterable, value: str, known: Iterable[str], *, code: str | None = None) -> str:
    """Refuse a reference, in the file of `kind` (or of one hospital), to something the data does not define
    (a service code, a hospital's short code)."""
    known = list(known)
    if value not in known:
        name = path_of(kind, code).relative_to(DATA_DIR).as_posix()
        message = _("“%(value)s” is not one of: %(known)s.") % {"value": value, "known": ", ".join(known)}
        raise InvalidInput(_where(name, at, message))
    return value


def _where(name: str, at: Iterable, message: str) -> str:
    path = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in at).lstrip(".")
    if not path:
        return _("%(file)s: %(message)s") % {"file": name, "message": message}
    return _("%(file)s, at %(path)s: %(message)s") % {"file": name, "path": path, "message": message}


@functools.cache
def _validator(kind: str) -> Draft202012Validator:
    """The kind's schema, whose references to common.schema.json (shared definitions) resolve by file name."""
    schemas = {path.name: json.loads(path.read_text()) for path in SCHEMA_DIR.glob("*.schema.json")}
    registry = Registry().with_resources(
        (name, Resource.from_contents(schema, default_specification=DRAFT202012)) for name, schema in schemas.items()
    )
    return Draft202012Validator(schemas[f"{kind}.schema.json"], registry=registry)
