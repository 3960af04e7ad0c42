"""Environment families, one sub-package each: ``grid`` (MiniGrid-like), more to come."""
