"""A gymnasium env made in a process forked after JAX started runs in a fresh interpreter.

JAX is multithreaded: a process ``fork``-ed after its backend started inherits locks held by
threads that do not exist in the child, and its first JAX call deadlocks. gymnasium's
``AsyncVectorEnv`` forks its workers by default on Linux, and it builds one env in the parent
first (for the spaces), so ``gymnasium.make_vec(id, num_envs, vectorization_mode="async")``
would hang on its first ``reset``. ``GymnasiumEnv`` notices that it is being made in such a
child (an at-fork hook records whether JAX's backend was running) and becomes a
``SpawnedGymnasiumEnv``: the same env, run by a fresh Python process (``subprocess``, so it works
from gymnasium's daemonic workers too) and driven through a pipe. Results are the same as in
the parent; each step pays one more round trip between processes. A ``"spawn"`` or
``"forkserver"`` context (``vector_kwargs={"context": "spawn"}``) avoids the extra process.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from multiprocessing.connection import Connection, Pipe
from typing import Any

import gymnasium

from curriculax import registry
from curriculax.gym_adapters import GymnasiumEnv

#: The command the fresh process runs: serve the env on the inherited socket.
_SERVE = "import sys; from curriculax.spawned import serve; serve(int(sys.argv[1]))"


class SpawnedGymnasiumEnv(GymnasiumEnv):
    """A ``GymnasiumEnv`` whose JAX program runs in a fresh Python process (see the module).

    Made by ``GymnasiumEnv(...)`` itself in a process forked after JAX started; the arguments
    are ``GymnasiumEnv``'s. Observations, rewards and errors are the real env's, sent back
    through the pipe (an error raised there is raised here, with the same type).
    """

    def __init__(self, env_id: str, render_mode: str | None = None, **config: Any) -> None:
        self._init_args = {"env_id": env_id, "render_mode": render_mode, **config}
        self._viewer = None
        self._process: subprocess.Popen | None = None
        ours, theirs = Pipe()
        path = [p for p in sys.path if p] + os.environ.get("PYTHONPATH", "").split(os.pathsep)
        environ = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
        self._process = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=environ,
        )
        theirs.close()
        self._conn: Connection | None = ours
        spec = registry.spec(env_id)
        spaces = self._call("init", (spec, self._init_args))
        self.observation_space, self.action_space, self.render_mode = spaces
        self._caption = env_id

    def _call(self, command: str, payload: Any = None) -> Any:
        if self._conn is None:
            raise RuntimeError("this env is closed")
        try:
            self._conn.send((command, payload))
            status, result = self._conn.recv()
        except (EOFError, OSError) as e:
            code = None if self._process is None else self._process.poll()
            raise RuntimeError(
                f"the process running {self._init_args['env_id']} ended (exit code {code}); "
                "its error, if any, is above"
            ) from e
        if status == "error":
            raise result
        return result

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """As ``GymnasiumEnv.reset``, in the env's process."""
        gymnasium.Env.reset(self, seed=seed)
        return self._call("reset", {"seed": seed, "options": options})

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """As ``GymnasiumEnv.step``, in the env's process."""
        return self._call("step", action)

    def render(self) -> Any:
        """As ``GymnasiumEnv.render``, in the env's process (its window, for ``"human"``)."""
        return self._call("render")

    def close(self) -> None:
        """Closes the env and ends its process."""
        if self._conn is not None:
            with contextlib.suppress(RuntimeError):  # its process already ended
                self._call("close")
            self._conn.close()
            self._conn = None
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def __del__(self) -> None:
        if getattr(self, "_process", None) is not None:
            self.close()

    def __getstate__(self) -> dict[str, Any]:
        return self._call("getstate")

    def __setstate__(self, saved: dict[str, Any]) -> None:
        self.__init__(**saved["init_args"])
        self._call("setstate", saved)


def serve(fd: int) -> None:
    """The fresh process's loop: one ``GymnasiumEnv``, driven by ``SpawnedGymnasiumEnv``."""
    conn = Connection(fd)
    env: GymnasiumEnv | None = None
    while True:
        try:
            command, payload = conn.recv()
        except EOFError:  # the env's owner went away
            break
        try:
            if command == "init":
                spec, init_args = payload
                if spec.id not in registry.registered_ids():  # an id the user registered
                    name = spec.id.partition("/")[2]
                    registry.register(name, spec.entry_point, **spec.kwargs)
                env = GymnasiumEnv(**init_args)
                result: Any = (env.observation_space, env.action_space, env.render_mode)
            elif command == "reset":
                result = env.reset(**payload)
            elif command == "step":
                result = env.step(payload)
            elif command == "render":
                result = env.render()
            elif command == "getstate":
                result = env.__getstate__()
            elif command == "setstate":
                env.__setstate__(payload)
                result = None
            elif command == "close":
                if env is not None:
                    env.close()
                conn.send(("ok", None))
                break
            else:
                raise ValueError(f"unknown command {command!r}")
            conn.send(("ok", result))
        except Exception as e:  # sent to the owner, raised there
            try:
                conn.send(("error", e))
            except Exception:  # an exception that does not pickle
                conn.send(("error", RuntimeError(f"{type(e).__name__}: {e}")))
    conn.close()
