"""The same training split across several XLA devices learns the same as on one.

Each device count needs its own process (XLA reads ``--xla_force_host_platform_device_count``
at start-up), so the runs happen in subprocesses that print their metrics as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = """
import json, sys
import jax, numpy as np
import curriculax
from curriculax.agents.ppo import PPOConfig, make_train
assert len(jax.devices()) == int(sys.argv[1]), jax.devices()
env, params = curriculax.make("curriculax/Empty-5x5-v0")
config = PPOConfig(total_timesteps=int(sys.argv[2]), num_envs=32, num_steps=64, learning_rate=1e-3)
out = {}
for name, devices in (("one", jax.devices()[:1]), ("many", jax.devices())):
    train = make_train(config, env, params, devices=devices)
    runner, metrics = jax.jit(train)(jax.random.key(0))
    flat = np.concatenate([np.ravel(x) for x in jax.tree.leaves(runner.params)])
    out[name] = {
        "metrics": {k: np.asarray(v).tolist() for k, v in metrics.items()},
        "params": flat[:200].tolist(),
        "sharding": str(runner.obs.sharding),
    }
print(json.dumps(out))
"""


def _train_on(devices: int, steps: int) -> dict:
    """Trains on the first of ``devices`` XLA host devices, then on all of them."""
    env = dict(os.environ)
    # keep the suite's fast-compile XLA flags (conftest.py); add the device count
    flags = os.environ.get("XLA_FLAGS", "")
    env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={devices}".strip()
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(devices), str(steps)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _check_same_learning(devices: int, steps: int) -> None:
    runs = _train_on(devices, steps)
    one, many = runs["one"], runs["many"]
    assert "SingleDeviceSharding" in one["sharding"]
    assert "'envs'" in many["sharding"]  # the envs really were split
    for name in ("return_mean", "episodes", "value_loss", "policy_loss", "entropy"):
        np.testing.assert_allclose(
            many["metrics"][name], one["metrics"][name], rtol=2e-3, atol=1e-5, err_msg=name
        )
    np.testing.assert_allclose(many["params"], one["params"], rtol=1e-3, atol=1e-5)


def test_two_devices_give_the_same_learning_result_as_one():
    _check_same_learning(2, 8 * 32 * 64)


@pytest.mark.slow
def test_four_devices_learn_empty_5x5_as_one_device_does():
    _check_same_learning(4, 100_000)
