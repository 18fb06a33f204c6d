"""The image budget: the suite never asks the target for more images than allowed.

Against the real API every image costs money, so each billable test asks the
budget before it submits and skips, saying so, when the budget cannot pay.
Against a mock images are free and the default budget is generous.
"""

from __future__ import annotations

import threading

ALLOWED_COUNTS = (1, 2, 4)


class Budget:
    """How many images the suite may still ask the target for."""

    def __init__(self, max_images: int) -> None:
        self.max_images = max_images
        self._spent = 0
        self._unasked = 0
        self._lock = threading.Lock()

    @property
    def spent(self) -> int:
        """Images asked for so far (including any the target took when it should have refused)."""
        return self._spent

    @property
    def remaining(self) -> int:
        """Images still allowed."""
        return max(0, self.max_images - self._spent)

    @property
    def exhausted(self) -> bool:
        """Nothing left, and the target has billed what it should have refused: stop sending."""
        return self._unasked > 0 and self.remaining == 0

    def take(self, images: int) -> bool:
        """Reserve `images` if the budget allows it; False (and nothing spent) otherwise."""
        with self._lock:
            if self._spent + images > self.max_images:
                return False
            self._spent += images
            return True

    def charge(self, images: int) -> None:
        """Record images the target billed unasked (it accepted a request it should refuse)."""
        with self._lock:
            self._spent += images
            self._unasked += images

    def refusal(self, images: int) -> str:
        """Why a test that needs `images` more images is skipped."""
        return (
            f"needs {images} image(s) but only {self.remaining} of --apixo-max-images"
            f" {self.max_images} are left (the budget caps what the suite may spend)"
        )


def largest_count(at_most: int) -> int:
    """The largest allowed num_images (1, 2 or 4) not above `at_most` (0 if none fits)."""
    return max((count for count in ALLOWED_COUNTS if count <= at_most), default=0)
