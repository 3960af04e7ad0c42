"""Make, reset, step and close every registered id from an installed (non-editable) curriculax.

`.ci/run` runs this from outside the checkout, in a venv where only the built wheel is installed,
so a subpackage or data file missing from the wheel fails here with the id that needs it. Compiling
each id's reset and step dominates, so the ids are spread over a few worker processes.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import gymnasium

import curriculax

STEPS = 5


def smoke(env_id: str) -> str | None:
    """Make, reset, step a few sampled actions and close ``env_id``; its traceback if it fails.

    A MiniWoB++ bridge (``curriculax/MiniWoB-*``) needs the ``miniwob`` extra, which the wheel's
    venv lacks: there it must refuse with the one-line ``MiniWoBUnavailable`` naming the fix.
    """
    if env_id.startswith("curriculax/MiniWoB-"):
        from curriculax.envs.webform.miniwob import MiniWoBUnavailable, miniwob_available

        if miniwob_available():
            try:
                gymnasium.make(env_id)
            except MiniWoBUnavailable as error:
                message = str(error)
                if "\n" not in message and "pip install" in message:
                    return None
                return f"unclear refusal: {message!r}"
            return "made without the miniwob extra installed"
    try:
        env = gymnasium.make(env_id)
        try:
            env.reset(seed=0)
            env.action_space.seed(0)
            for _ in range(STEPS):
                _, _, terminated, truncated, _ = env.step(env.action_space.sample())
                if terminated or truncated:
                    env.reset()
        finally:
            env.close()
    except Exception:
        return traceback.format_exc()
    return None


def main() -> int:
    """Smoke-test every id; print each failure with its id, return 1 if any failed."""
    source = Path(curriculax.__file__).resolve()
    print(f"curriculax from {source}")
    if Path(__file__).resolve().parents[1] in source.parents:
        print("wheel_smoke: curriculax comes from the checkout, not the wheel", file=sys.stderr)
        return 1
    ids = [i for i in gymnasium.registry if i.startswith("curriculax/")]
    if not ids:
        print("wheel_smoke: no curriculax/ ids registered", file=sys.stderr)
        return 1
    # As tests/conftest.py: XLA's optimisation level 0 compiles about a third faster.
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
    )
    jobs = min(4, os.cpu_count() or 1)
    start = time.perf_counter()
    # spawn, not fork: each worker starts its own JAX runtime.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        errors = dict(zip(ids, pool.map(smoke, ids), strict=True))
    failed = [env_id for env_id, error in errors.items() if error is not None]
    for env_id in failed:
        print(f"wheel_smoke: FAILED {env_id}\n{errors[env_id]}", file=sys.stderr)
    took = time.perf_counter() - start
    print(f"wheel_smoke: {len(ids) - len(failed)}/{len(ids)} ids ok in {took:.0f} s ({jobs} jobs)")
    if failed:
        print(f"wheel_smoke: failed ids: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
