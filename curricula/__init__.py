"""Automatic curricula (teachers) as pure functions over a pytree state; filled in later."""
