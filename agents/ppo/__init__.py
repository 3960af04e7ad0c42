"""PPO trained end to end under ``jax.jit``: config, networks, losses and the training run."""

from curriculax.agents.ppo.config import PPOConfig
from curriculax.agents.ppo.networks import ActorCritic, make_network
from curriculax.agents.ppo.train import PPO, RunnerState, make_train

__all__ = ["PPO", "ActorCritic", "PPOConfig", "RunnerState", "make_network", "make_train"]
