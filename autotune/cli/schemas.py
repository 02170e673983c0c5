"""The JSON schemas of the commands' ``--json`` output (``schemas/<command>.json``).

Scripts can validate what they read::

    from autotune.cli.schemas import validate
    validate("eval", json.loads(output))
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

COMMANDS = ("eval", "compare", "regress", "run")


@cache
def schema(command: str) -> dict[str, Any]:
    """The schema of ``autotune COMMAND --json``."""
    text = resources.files("autotune.cli").joinpath(f"schemas/{command}.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(command: str, document: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``document`` fits the command's schema."""
    import jsonschema
    from referencing import Registry, Resource

    registry: Registry[Any] = Registry().with_resources(
        (f"{name}.json", Resource.from_contents(schema(name))) for name in COMMANDS
    )
    jsonschema.Draft202012Validator(schema(command), registry=registry).validate(document)
