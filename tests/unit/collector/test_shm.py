"""The shared-memory arena and the free-slot counter."""

from __future__ import annotations

import asyncio

import pytest

from collector.errors import CollectorError
from collector.shm import Arena, Slots, attach, read_slot


def test_write_then_read_through_a_second_handle() -> None:
    """A body written into a slot is read back through another attachment by name."""
    arena = Arena(slots=4, slot_bytes=1024)
    try:
        arena.write(2, b"hello")
        arena.write(3, b"x" * 1024)
        other = attach(arena.name)
        try:
            assert read_slot(other, 2, 1024, 5) == b"hello"
            assert read_slot(other, 3, 1024, 1024) == b"x" * 1024
        finally:
            other.close()
        assert arena.read(2, 5) == b"hello"
    finally:
        arena.close()
        arena.close()  # idempotent


def test_bounds_are_checked() -> None:
    """Oversize bodies and slots out of range are refused."""
    arena = Arena(slots=2, slot_bytes=16)
    try:
        with pytest.raises(CollectorError):
            arena.write(0, b"x" * 17)
        with pytest.raises(CollectorError):
            arena.write(2, b"x")
        with pytest.raises(CollectorError):
            read_slot(arena.shm, 0, 16, 17)
    finally:
        arena.close()


def test_slots_block_when_all_are_busy() -> None:
    """acquire waits while every slot is in use and resumes when one is released."""

    async def scenario() -> None:
        slots = Slots(2)
        a = await slots.acquire()
        b = await slots.acquire()
        assert {a, b} == {0, 1} and slots.in_use == 2
        waiter = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0)
        assert not waiter.done()
        slots.release(a)
        assert await asyncio.wait_for(waiter, 5) == a
        assert slots.in_use == 2

    asyncio.run(scenario())


def test_cancelled_acquire_does_not_leak_a_slot() -> None:
    """A waiter cancelled while waiting takes no slot."""

    async def scenario() -> None:
        slots = Slots(1)
        held = await slots.acquire()
        waiter = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        slots.release(held)
        assert slots.in_use == 0
        assert await asyncio.wait_for(slots.acquire(), 5) == held

    asyncio.run(scenario())
