"""The shared-memory arena: fixed-size slots that carry received BATCH bodies to the pool.

The server (`Arena`, owner) copies a frame body into a free slot and sends the pool only
(slot, length, metadata); a pool process (`attach`) reads the body straight from the slot.
`Slots` hands out free slot numbers to asyncio code and makes callers wait when all are
busy, which is what stops the server reading sockets (backpressure).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from multiprocessing import shared_memory

from collector.errors import CollectorError


class Arena:
    """`slots` slots of `slot_bytes` each in one shared-memory segment (owner side)."""

    def __init__(self, slots: int, slot_bytes: int) -> None:
        self.slots = slots
        self.slot_bytes = slot_bytes
        self.shm = shared_memory.SharedMemory(create=True, size=slots * slot_bytes)
        self._closed = False

    @property
    def name(self) -> str:
        return self.shm.name

    def _span(self, slot: int, length: int) -> tuple[int, int]:
        if not 0 <= slot < self.slots:
            raise CollectorError(f"slot {slot} out of range 0..{self.slots - 1}")
        if not 0 <= length <= self.slot_bytes:
            raise CollectorError(f"{length} bytes do not fit a slot of {self.slot_bytes} bytes")
        start = slot * self.slot_bytes
        return start, start + length

    def write(self, slot: int, data: bytes) -> int:
        """Copy `data` into `slot`; return its length."""
        start, end = self._span(slot, len(data))
        buf = self.shm.buf
        assert buf is not None
        buf[start:end] = data
        return len(data)

    def read(self, slot: int, length: int) -> bytes:
        start, end = self._span(slot, length)
        buf = self.shm.buf
        assert buf is not None
        return bytes(buf[start:end])

    def close(self) -> None:
        """Release and remove the segment (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.shm.close()
        with contextlib.suppress(FileNotFoundError):
            self.shm.unlink()


def attach(name: str) -> shared_memory.SharedMemory:
    """Open an existing arena from a pool process.

    Pool processes are started by `multiprocessing` from the owner and share its resource
    tracker, so their registration of the name is the owner's one; the owner unlinks it.
    """
    return shared_memory.SharedMemory(name=name, create=False)


def read_slot(shm: shared_memory.SharedMemory, slot: int, slot_bytes: int, length: int) -> bytes:
    """The body stored in `slot` (pool side)."""
    if length > slot_bytes or slot < 0:
        raise CollectorError(f"slot {slot} with {length} bytes is outside the arena")
    start = slot * slot_bytes
    buf = shm.buf
    assert buf is not None
    with buf[start : start + length] as view:
        return bytes(view)


class Slots:
    """Free slot numbers for asyncio code; `acquire` waits while every slot is busy."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._free: deque[int] = deque(range(count))
        self._sem = asyncio.Semaphore(count)

    @property
    def in_use(self) -> int:
        return self.count - len(self._free)

    async def acquire(self) -> int:
        await self._sem.acquire()
        return self._free.popleft()

    def release(self, slot: int) -> None:
        self._free.append(slot)
        self._sem.release()
