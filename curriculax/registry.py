"""The registry: ``curriculax/<Name>-v<N>`` ids, mirrored into gymnasium, imported lazily.

A spec names its env class as a ``"module:Class"`` string, so registering imports no env module;
the module is imported the first time the id is made.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any

import gymnasium

NAMESPACE = "curriculax"
_ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*-v\d+$")


class UnknownEnvError(ValueError, gymnasium.error.Error):
    """Raised for an id that is not registered."""


@dataclass(frozen=True)
class EnvSpec:
    """A registered environment.

    Attributes:
        id: full id, ``curriculax/<Name>-v<N>``.
        entry_point: ``"module:Class"`` of the env class.
        kwargs: static config and param overrides the id fixes.
    """

    id: str
    entry_point: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def load(self) -> type:
        """Imports and returns the env class."""
        module_name, _, class_name = self.entry_point.partition(":")
        return getattr(importlib.import_module(module_name), class_name)


_SPECS: dict[str, EnvSpec] = {}


def _full_id(env_id: str) -> str:
    return env_id if env_id.startswith(f"{NAMESPACE}/") else f"{NAMESPACE}/{env_id}"


def register(name: str, entry_point: str, **kwargs: Any) -> EnvSpec:
    """Registers ``curriculax/<name>`` here and with gymnasium.

    Args:
        name: ``<Name>-v<N>``.
        entry_point: ``"module:Class"`` of an ``Env`` subclass.
        **kwargs: static config and param overrides for this id.

    Raises:
        ValueError: on a malformed or already registered name.
    """
    if not _ID_PATTERN.match(name):
        raise ValueError(f"env name must look like 'Name-v0', got {name!r}")
    env_id = _full_id(name)
    if env_id in _SPECS:
        raise ValueError(f"{env_id} is already registered")
    spec = EnvSpec(env_id, entry_point, dict(kwargs))
    _SPECS[env_id] = spec
    gymnasium.register(
        id=env_id,
        entry_point="curriculax.gym_adapters:GymnasiumEnv",
        vector_entry_point="curriculax.gym_adapters:GymnasiumVectorEnv",
        kwargs={"env_id": env_id},
    )
    return spec


def registered_ids() -> list[str]:
    """All registered ids, sorted."""
    return sorted(_SPECS)


def spec(env_id: str) -> EnvSpec:
    """The spec of ``env_id`` (the ``curriculax/`` prefix is optional).

    Raises:
        UnknownEnvError: naming the closest registered ids.
    """
    full = _full_id(env_id)
    if full in _SPECS:
        return _SPECS[full]
    close = difflib.get_close_matches(full, _SPECS, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UnknownEnvError(
        f"unknown environment id {env_id!r}.{hint} `curriculax list` shows every id."
    )


def constructor_options(cls: type) -> set[str]:
    """Keyword names ``cls(...)`` accepts, following ``**kwargs`` forwarded to base classes."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters.values()
        named = [p for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        # a base class's arguments without a default are the subclass's to fill in
        names |= {p.name for p in named if not names or p.default is not p.empty}
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    return names - {"self"}


def make(env_id: str, **config: Any) -> tuple[Any, Any]:
    """Builds the functional env of ``env_id`` and its params.

    Keyword arguments that the env class's constructor takes are static config; the others
    replace fields of its default params. Everything is validated here, before any tracing.

    Returns:
        ``(env, params)``.

    Raises:
        UnknownEnvError: for an unknown id.
        ValueError: for an unknown option, or a value of the wrong type (checked against the
            constructor's annotations, ``curriculax.options.check``; a Params field by its
            dtype and shape, ``Env.make_params``) or out of range, naming the option.
    """
    from curriculax.options import check, option_types

    env_spec = spec(env_id)
    cls = env_spec.load()
    options = {**env_spec.kwargs, **config}
    accepted = constructor_options(cls)
    types = option_types(cls)
    static = {
        k: check(f"{env_spec.id} option {k}", v, types.get(k, Any))
        for k, v in options.items()
        if k in accepted
    }
    try:
        env = cls(**static)
    except (TypeError, ValueError) as e:  # the constructor's range checks name the option
        raise type(e)(f"{env_spec.id}: {e}") from None
    overrides = {k: v for k, v in options.items() if k not in accepted}
    params_fields = set(type(env.default_params()).__dataclass_fields__)
    if accepted & params_fields:
        raise TypeError(
            f"{cls.__name__}: names {sorted(accepted & params_fields)} are both constructor "
            "arguments and params fields; keyword routing needs them distinct"
        )
    unknown = sorted(set(overrides) - params_fields)
    if unknown:
        raise ValueError(
            f"{env_spec.id} has no option {unknown}; static config: {sorted(accepted)}; "
            f"params: {sorted(params_fields)}"
        )
    try:
        params = env.make_params(**overrides)
    except ValueError as e:  # names the field
        raise ValueError(f"{env_spec.id}: {e}") from None
    return env, params
