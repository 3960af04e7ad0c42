"""Gridworlds with MiniGrid's semantics on one JAX grid engine.

Modules load lazily through the registry; import a task module (``empty``, ``doorkey``) directly
to use its class.
"""
