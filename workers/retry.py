"""Retry delays (pure): exponential backoff with jitter, capped."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_s(
    retries: int, base_s: float, max_s: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before retry number `retries + 1`: half of min(max_s, base_s * 2**retries) plus a
    random part of up to the other half ("equal jitter"), so never above `max_s`."""
    cap = min(max_s, base_s * 2 ** min(max(retries, 0), 62))
    return cap / 2 + rand() * cap / 2
