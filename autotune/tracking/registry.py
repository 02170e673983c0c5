"""The MLflow Prompt Registry: register a prompt version, move aliases, load by URI.

A registered version's template is the prompt as chat messages (system, the demos as
user/assistant turns, then the user template with ``{{field}}`` variables), so MLflow
users can format it directly; the exact autotune prompt rides along as JSON in a tag
and comes back unchanged through :func:`load_registered_prompt`.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from autotune.errors import ConfigError
from autotune.prompt import Prompt
from autotune.tracking.mlflow_sink import quiet_store_migrations, resolve_tracking_uri

if TYPE_CHECKING:
    from mlflow import MlflowClient

PROMPT_JSON_TAG = "autotune.prompt_json"
_URI = re.compile(r"^prompts:/(?P<name>[^@/]+)(?:@(?P<alias>[\w.-]+)|/(?P<version>\d+))$")


def _client(tracking_uri: str | None) -> MlflowClient:
    from mlflow import MlflowClient

    quiet_store_migrations()
    uri = resolve_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def chat_template(prompt: Prompt) -> list[dict[str, str]]:
    """The prompt as MLflow chat messages with ``{{field}}`` variables."""
    variables = {field: f"{{{{{field}}}}}" for field in prompt.fields()}
    return [message.to_dict() for message in prompt.render(variables)]


def register_prompt(
    prompt: Prompt,
    name: str,
    *,
    alias: str | None = None,
    tracking_uri: str | None = None,
    commit_message: str = "",
    tags: dict[str, str] | None = None,
) -> int:
    """Register ``prompt`` as a new version of ``name``; point ``alias`` at it.

    Returns:
        The new version number.
    """
    client = _client(tracking_uri)
    all_tags = {**(tags or {}), PROMPT_JSON_TAG: json.dumps(prompt.to_dict())}
    version = client.register_prompt(
        name=name,
        template=chat_template(prompt),
        commit_message=commit_message or None,
        tags=all_tags,
    )
    number = int(version.version)
    if alias:
        client.set_prompt_alias(name, alias, number)
    return number


def set_alias(name: str, alias: str, version: int, *, tracking_uri: str | None = None) -> None:
    """Point ``alias`` of prompt ``name`` at ``version``."""
    _client(tracking_uri).set_prompt_alias(name, alias, version)


def parse_prompt_uri(uri: str) -> tuple[str, str | None, int | None]:
    """``prompts:/name@alias`` or ``prompts:/name/3`` -> (name, alias, version)."""
    match = _URI.match(uri)
    if match is None:
        raise ConfigError(
            "expected prompts:/NAME@ALIAS or prompts:/NAME/VERSION", field="prompt", file=uri
        )
    version = match.group("version")
    return match.group("name"), match.group("alias"), int(version) if version else None


def load_registered_prompt(uri: str, *, tracking_uri: str | None = None) -> tuple[Prompt, int]:
    """The prompt and version a ``prompts:/`` URI names.

    Raises:
        ConfigError: The URI is malformed, or no such prompt, version or alias exists.
    """
    from mlflow.exceptions import MlflowException

    name, alias, version = parse_prompt_uri(uri)
    client = _client(tracking_uri)
    try:
        if alias is not None:
            found: Any = client.get_prompt_version_by_alias(name, alias)
        else:
            found = client.load_prompt(name, version=version)
    except MlflowException as error:
        raise ConfigError(f"not in the prompt registry ({error.message})", file=uri) from None
    if found is None:
        raise ConfigError("not in the prompt registry", file=uri)
    raw = (found.tags or {}).get(PROMPT_JSON_TAG)
    if raw:
        return Prompt.from_dict(json.loads(raw)), int(found.version)
    return _from_template(found.template), int(found.version)


def _from_template(template: Any) -> Prompt:
    """A prompt registered by someone else: a text template or chat messages."""
    if isinstance(template, str):
        return Prompt(system="", user_template=_single_braces(template))
    system = "\n".join(m["content"] for m in template if m.get("role") == "system")
    users = [m["content"] for m in template if m.get("role") == "user"]
    return Prompt(system=system, user_template=_single_braces(users[-1] if users else "{input}"))


def _single_braces(text: str) -> str:
    """MLflow's ``{{field}}`` variables as autotune's ``{field}`` placeholders."""
    escaped = text.replace("{", "{{").replace("}", "}}")
    return re.sub(r"\{\{\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\}\}", r"{\1}", escaped)
