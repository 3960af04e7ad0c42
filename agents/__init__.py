"""Learning agents (PPO) trained end to end under ``jax.jit``; filled in by the PPO work."""
