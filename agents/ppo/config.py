"""PPO's configuration: one frozen, validated dataclass, CleanRL-style names.

Defaults follow CleanRL's / SB3's discrete-action PPO (clip 0.2, 4 epochs, γ 0.99, λ 0.95, value
coefficient 0.5, gradient norm 0.5, Adam ε 1e-5, advantage normalisation per minibatch) with
PureJaxRL's vectorised batch shape. SB3 names map as: ``n_envs`` = ``num_envs``, ``n_steps`` =
``num_steps``, ``n_epochs`` = ``update_epochs``, ``batch_size`` = ``minibatch_size``,
``clip_range`` = ``clip_eps``, ``gae_lambda``, ``ent_coef``, ``vf_coef``, ``max_grad_norm``.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from curriculax.options import check

#: Encoders for ``network``; ``"auto"`` picks one from the observation space.
NETWORKS = ("auto", "mlp", "grid", "cnn", "set", "form")
#: Recurrent cores for ``recurrent``; ``None`` is a feed-forward policy.
RECURRENT = (None, "gru", "lstm")
#: How an env whose episode ended starts the next one (see ``curriculax.autoreset``).
LEVEL_MODES = ("fresh", "replay")


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Everything that defines a PPO run besides the env and the seed.

    Built, every field is held to its declared type (``curriculax.options.check``: a bool field
    takes only ``True``/``False``, an int field no bool, a float field a finite number) and to
    its range; a bad value raises ``ValueError`` naming the field.

    Attributes:
        total_timesteps: env steps of the whole run (rounded down to whole updates).
        num_envs: N, envs stepped together.
        num_steps: T, steps per env per rollout; a batch is ``N * T`` transitions.
        update_epochs: passes over each batch.
        num_minibatches: minibatches per epoch: every env's steps split among them (or, when
            it does not divide ``num_steps``, transitions at random); envs when recurrent.
        learning_rate: Adam step size.
        anneal_lr: decay the step size linearly to 0 over the run.
        gamma: discount (at the first update, when ``gamma_end`` is set).
        gamma_end: if set, the discount moves linearly from ``gamma`` at the first update to
            this at the last (a horizon that grows over the run); ``None`` keeps ``gamma``.
        gae_lambda: GAE's λ.
        clip_eps: PPO's ratio clip.
        clip_value: clip the value update to ``clip_eps`` too (CleanRL's ``clip_vloss``).
        ent_coef: entropy bonus coefficient.
        vf_coef: value loss coefficient.
        max_grad_norm: global gradient norm clip.
        normalize_advantages: standardise advantages per minibatch.
        reward_scale: rewards are multiplied by this before GAE (Brax's ``reward_scaling``;
            the reported returns stay in the env's units).
        normalize_returns: divide rewards by the running standard deviation of each env's
            discounted return (with ``gamma``) and clip them to +-10, before ``reward_scale``
            (SB3's ``VecNormalize(norm_reward=True)``; ``agents.ppo.return_norm``); the
            reported returns stay in the env's units.
        normalize_observations: standardise the policy's inputs per feature by the mean and
            variance of every observation the run has collected, clipped to +-10 (Brax's
            ``normalize_observations``, SB3's ``VecNormalize``); the statistics are network
            variables (``obs_norm``), updated after each update's gradient steps, so they
            travel with the parameters into checkpoints, evaluation and replays. ``"mlp"``
            networks on Box observations only.
        network: encoder, one of ``NETWORKS``.
        hidden_size: width of the torso and heads.
        init_log_std: the Gaussian policy's log standard deviation at initialisation
            (continuous actions only; SB3's ``log_std_init``): 0 starts every action dimension
            at std 1, -1 at std 0.37. It is a parameter; training moves it from there.
        squash_actions: a Gaussian policy acts through ``tanh``, rescaled to the Box's bounds
            (Brax's tanh-normal; SAC's squashing), instead of its samples being clipped to the
            bounds by the env. PPO learns the Gaussian of the pre-squash sample (the squash's
            Jacobian cancels in the ratio), whose entropy is what the metrics report; greedy
            actions are the squashed mean. Continuous actions with finite bounds only.
        recurrent: ``None``, ``"gru"`` or ``"lstm"`` (a core after the encoder).
        level_mode: ``"fresh"`` (new levels from the env's Params) or ``"replay"``.
        pool_size: levels in the fresh pool; ``None`` = ``num_envs``.
        round_updates: with a curriculum, PPO updates per curriculum round (episodes continue
            across the updates of a round; the teacher learns once per round). ``None``: the
            fewest updates whose rollouts cover the env's ``max_steps``. A round shorter than
            ``max_steps`` is refused. Without a curriculum it must stay ``None``.
    """

    total_timesteps: int = 1_000_000
    num_envs: int = 64
    num_steps: int = 128
    update_epochs: int = 4
    num_minibatches: int = 4
    learning_rate: float = 2.5e-4
    anneal_lr: bool = True
    gamma: float = 0.99
    gamma_end: float | None = None
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    clip_value: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    normalize_advantages: bool = True
    reward_scale: float = 1.0
    normalize_returns: bool = False
    normalize_observations: bool = False
    network: str = "auto"
    hidden_size: int = 64
    init_log_std: float = 0.0
    squash_actions: bool = False
    recurrent: str | None = None
    level_mode: str = "fresh"
    pool_size: int | None = None
    round_updates: int | None = None

    def __post_init__(self) -> None:
        # Every field holds its declared type first (a bool only True/False, an int not a bool,
        # a float finite), then the ranges below.
        for name, hint in self.field_types().items():
            value = check(f"PPOConfig.{name}", getattr(self, name), hint)
            object.__setattr__(self, name, value)
        positive_ints = (
            "total_timesteps",
            "num_envs",
            "num_steps",
            "update_epochs",
            "num_minibatches",
            "hidden_size",
        )
        for name in positive_ints:
            value = getattr(self, name)
            if value < 1:
                raise ValueError(f"PPOConfig.{name} must be a positive int, got {value!r}")
        for name in ("gamma", "gae_lambda"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"PPOConfig.{name} must be in [0, 1], got {value!r}")
        if self.gamma_end is not None and not 0.0 <= self.gamma_end <= 1.0:
            raise ValueError(f"PPOConfig.gamma_end must be in [0, 1], got {self.gamma_end!r}")
        for name in ("ent_coef", "vf_coef", "clip_eps"):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"PPOConfig.{name} must be >= 0, got {value!r}")
        for name in ("learning_rate", "max_grad_norm", "reward_scale"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"PPOConfig.{name} must be > 0, got {value!r}")
        if self.network not in NETWORKS:
            raise ValueError(f"PPOConfig.network must be one of {NETWORKS}, got {self.network!r}")
        if self.recurrent not in RECURRENT:
            raise ValueError(
                f"PPOConfig.recurrent must be one of {RECURRENT}, got {self.recurrent!r}"
            )
        if self.level_mode not in LEVEL_MODES:
            raise ValueError(
                f"PPOConfig.level_mode must be one of {LEVEL_MODES}, got {self.level_mode!r}"
            )
        for name in ("pool_size", "round_updates"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"PPOConfig.{name} must be a positive int or None, got {value!r}")
        if self.recurrent is None:
            if self.batch_size % self.num_minibatches:
                raise ValueError(
                    f"num_envs * num_steps ({self.batch_size}) must be divisible by "
                    f"num_minibatches ({self.num_minibatches})"
                )
        elif self.num_envs % self.num_minibatches:
            raise ValueError(
                f"a recurrent policy's minibatches split the envs: num_envs ({self.num_envs}) "
                f"must be divisible by num_minibatches ({self.num_minibatches})"
            )
        if self.num_updates < 1:
            raise ValueError(
                f"total_timesteps ({self.total_timesteps}) is less than one batch "
                f"(num_envs * num_steps = {self.batch_size})"
            )

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        """Each field's declared type, by name (what ``--set KEY=VALUE`` is parsed as)."""
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}

    @property
    def batch_size(self) -> int:
        """Transitions per update, ``num_envs * num_steps``."""
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        """Transitions per minibatch."""
        return self.batch_size // self.num_minibatches

    @property
    def num_updates(self) -> int:
        """Updates in the run: ``total_timesteps // batch_size``."""
        return self.total_timesteps // self.batch_size

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-serialisable)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PPOConfig:
        """A config from a dict, rejecting unknown keys with the list of valid ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known, key=repr)
        if unknown:
            raise ValueError(f"unknown PPOConfig keys {unknown}; valid keys: {sorted(known)}")
        return cls(**values)
