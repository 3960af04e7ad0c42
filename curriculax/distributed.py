"""Several processes, one training run: JAX's distributed runtime, started with clear errors.

``initialize`` starts ``jax.distributed`` (its coordination service and, on CPU, gloo collectives)
before anything touches a JAX backend; after it, ``jax.devices()`` spans every process and the
PPO program splits its envs across all of them (``agents.ppo.train.PPO``'s mesh). JAX ends a
process that cannot register with the coordinator by aborting with a C++ stack trace, and waits
for a missing peer until its timeout; so before handing over, the processes meet once on
``PORT + 1`` (a small TCP handshake, not part of training) that checks every process agrees on
the process count and has its own id, and fails within the timeout with one line that names the
fix. With no address, JAX's own cluster detection (SLURM, Open MPI, Kubernetes...) is used and
the handshake is skipped.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time

#: Seconds to wait for the coordinator and every peer, by default.
DEFAULT_TIMEOUT = 45.0


class DistributedError(RuntimeError):
    """The processes of a run could not meet: unreachable coordinator, mismatched counts."""


def parse_address(text: str) -> tuple[str, int]:
    """``"HOST:PORT"`` -> ``(host, port)``; a clear error otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65535:
        raise ValueError(f"--coordinator must be HOST:PORT (port 1-65534), got {text!r}")
    return host, int(port)


def initialize(
    coordinator: str | None,
    num_processes: int | None,
    process_id: int | None,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Starts JAX's distributed runtime for this process (call before any JAX computation).

    Args:
        coordinator: ``"HOST:PORT"`` of process 0 (which serves there and on ``PORT + 1``), or
            ``None`` to let JAX detect the cluster (then the other two must be ``None`` too).
        num_processes: processes in the run, >= 1.
        process_id: this process's index, ``0 .. num_processes - 1``.
        timeout: seconds to wait for the coordinator and the peers.

    Raises:
        ValueError: inconsistent arguments.
        DistributedError: the processes did not all meet within ``timeout``, or disagree.
    """
    if coordinator is None:
        if num_processes is not None or process_id is not None:
            raise ValueError("--num-processes and --process-id need --coordinator HOST:PORT")
    else:
        host, port = parse_address(coordinator)
        if num_processes is None or process_id is None:
            raise ValueError("--coordinator needs --num-processes N and --process-id I")
        if num_processes < 1 or not 0 <= process_id < num_processes:
            raise ValueError(
                f"--process-id must be in 0..{num_processes - 1} for --num-processes "
                f"{num_processes}, got {process_id}"
            )
    import jax  # the arguments are checked first: a bad call leaves JAX untouched

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if coordinator is None:
        jax.distributed.initialize()
        return
    if num_processes > 1:
        handshake(host, port + 1, num_processes, process_id, timeout)
    jax.distributed.initialize(
        coordinator_address=f"{host}:{port}",
        num_processes=num_processes,
        process_id=process_id,
        initialization_timeout=max(int(timeout), 1),
    )


def handshake(host: str, port: int, num_processes: int, process_id: int, timeout: float) -> None:
    """Every process checks in with process 0 on ``host:port`` before JAX's runtime starts.

    Process 0 listens for the ``num_processes - 1`` others; each sends its count and id and
    gets back ``ok`` or the reason it is refused.

    Raises:
        DistributedError: a process is missing after ``timeout`` s, or the counts or ids clash.
    """
    deadline = time.monotonic() + timeout
    if process_id == 0:
        _serve(host, port, num_processes, deadline, timeout)
    else:
        _check_in(host, port, num_processes, process_id, deadline, timeout)


def _serve(host: str, port: int, count: int, deadline: float, timeout: float) -> None:
    peers: dict[int, socket.socket] = {}
    problem = ""
    with socket.create_server(("", port)) as server:
        while len(peers) < count - 1 and not problem:
            left = deadline - time.monotonic()
            if left <= 0:
                missing = sorted(set(range(1, count)) - set(peers))
                problem = (
                    f"process(es) {missing} of {count} did not reach the coordinator "
                    f"{host}:{port - 1} within {timeout:.0f} s (start the same command on every "
                    "process, with the same --num-processes and --coordinator)"
                )
                break
            server.settimeout(left)
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.settimeout(max(deadline - time.monotonic(), 1.0))
            try:
                hello = json.loads(conn.makefile().readline())
                theirs, their_id = int(hello["num_processes"]), int(hello["process_id"])
            except (OSError, ValueError, KeyError, TypeError):
                conn.close()  # not one of ours (a port scan, a stray client)
                continue
            if theirs != count:
                problem = (
                    f"process {their_id} was started with --num-processes {theirs}, process 0 "
                    f"with {count} (give every process the same --num-processes)"
                )
            elif not 0 < their_id < count or their_id in peers:
                problem = (
                    f"process id {their_id} is taken or outside 1..{count - 1} (give each "
                    "process its own --process-id)"
                )
            peers.setdefault(their_id, conn)
            if conn is not peers[their_id]:
                _reply(conn, problem)
        for conn in peers.values():
            _reply(conn, problem or "ok")
    if problem:
        raise DistributedError(problem)


def _check_in(
    host: str, port: int, count: int, process_id: int, deadline: float, timeout: float
) -> None:
    while True:
        try:
            conn = socket.create_connection((host, port), timeout=1.0)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise DistributedError(
                    f"cannot reach the coordinator {host}:{port - 1} within {timeout:.0f} s (is "
                    "process 0 running, and is --coordinator its address?)"
                ) from None
            time.sleep(0.2)
    with conn:
        conn.settimeout(max(deadline - time.monotonic(), 1.0))
        hello = {"num_processes": count, "process_id": process_id}
        conn.sendall((json.dumps(hello) + "\n").encode())
        try:
            answer = conn.makefile().readline().strip()
        except OSError:
            answer = ""
    if answer != "ok":
        raise DistributedError(
            f"the coordinator {host}:{port - 1} refused process {process_id}: "
            f"{answer or 'no answer within the timeout'}"
        )


def _reply(conn: socket.socket, message: str) -> None:
    with contextlib.suppress(OSError):
        conn.sendall((message + "\n").encode())
    conn.close()
