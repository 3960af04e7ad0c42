"""A pygame window that shows RGB frames, for ``render_mode="human"``.

pygame comes from the ``render`` extra and is imported only when a viewer is created, so the rest
of curriculax never needs it. The viewer knows nothing about environments: it shows whatever uint8
image it is given.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from gymnasium.error import DependencyNotInstalled

__all__ = ["HumanViewer"]

_MISSING_PYGAME = 'pygame is not installed; run pip install "curriculax[render]"'


class HumanViewer:
    """Show uint8 RGB frames in a pygame window.

    The window opens on the first :meth:`show`, sized to the frame (or to ``window_size``, the frame
    then being scaled to fit), and follows later frames that change size. Each :meth:`show` also
    pumps the window's events, so the window stays responsive; when the user closes it, the viewer
    closes itself and later frames are ignored (see :attr:`is_open`).

    Example:
        >>> viewer = HumanViewer("DoorKey")  # doctest: +SKIP
        >>> viewer.show(env.render())  # doctest: +SKIP
        >>> viewer.close()  # doctest: +SKIP

    """

    def __init__(
        self,
        caption: str = "curriculax",
        fps: float | None = None,
        window_size: tuple[int, int] | None = None,
    ) -> None:
        """Create a viewer; no window appears until the first frame.

        Args:
            caption: Title of the window.
            fps: If given, :meth:`show` waits so that frames come at most this many per second.
            window_size: Optional ``(width, height)`` of the window in pixels; frames are scaled
                to it. By default the window takes each frame's own size.

        Raises:
            gymnasium.error.DependencyNotInstalled: If pygame is not installed.

        """
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        try:
            import pygame
        except ImportError as err:
            raise DependencyNotInstalled(_MISSING_PYGAME) from err
        self._pygame: Any = pygame
        self.caption = caption
        self.fps = fps
        self.window_size = (
            None if window_size is None else (int(window_size[0]), int(window_size[1]))
        )
        self._window: Any = None
        self._clock: Any = None
        self._closed = False

    @property
    def is_open(self) -> bool:
        """Whether frames are still shown: False once closed, by :meth:`close` or by the user."""
        return not self._closed

    def show(self, frame: np.ndarray) -> None:
        """Show one frame and handle the window's pending events.

        Args:
            frame: uint8 [H, W, 3] RGB image (any array convertible by ``np.asarray``, e.g. a JAX
                array).

        Raises:
            ValueError: If ``frame`` is not of shape [H, W, 3].

        """
        if self._closed:
            return
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an RGB frame of shape [H, W, 3], got {frame.shape}")
        if frame.dtype != np.uint8:
            frame = np.clip(frame, 0, 255).astype(np.uint8)
        pygame = self._pygame
        size = self.window_size or (frame.shape[1], frame.shape[0])
        if self._window is None:
            pygame.display.init()
            pygame.display.set_caption(self.caption)
            self._window = pygame.display.set_mode(size)
            self._clock = pygame.time.Clock()
        elif self._window.get_size() != size:
            self._window = pygame.display.set_mode(size)

        # pygame surfaces are indexed [x, y]; frames are [y, x].
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))
        if surface.get_size() != size:
            surface = pygame.transform.scale(surface, size)
        self._window.blit(surface, (0, 0))
        pygame.display.flip()

        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.close()
                return
        if self.fps:
            self._clock.tick(self.fps)

    def close(self) -> None:
        """Close the window; safe to call more than once."""
        if self._window is not None:
            self._pygame.display.quit()
            self._window = None
        self._closed = True

    def __enter__(self) -> HumanViewer:
        """Return the viewer itself, closing it when the ``with`` block ends."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the viewer."""
        self.close()
