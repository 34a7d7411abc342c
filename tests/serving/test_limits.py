"""WorkLimiter: admits up to its capacity, refuses beyond, and frees a slot only when its job has ended."""

from __future__ import annotations

import asyncio
import threading

import pytest

from facemotion.serving.limits import Saturated, WorkLimiter


def test_admits_up_to_capacity_then_refuses() -> None:
    limiter = WorkLimiter(workers=1, max_queue=2)
    slots = [limiter.admit() for _ in range(3)]
    assert limiter.in_flight == 3
    with pytest.raises(Saturated, match="limit is 3"):
        limiter.admit()
    slots[0].release()
    slots[0].release()  # idempotent
    assert limiter.in_flight == 2
    with limiter.admit():
        assert limiter.in_flight == 3
    assert limiter.in_flight == 2
    limiter.shutdown()


def test_run_returns_the_result_and_raises_the_error() -> None:
    limiter = WorkLimiter(workers=2, max_queue=0)

    async def main() -> tuple[int, str]:
        with limiter.admit() as slot:
            value = await slot.run(lambda a, b: a + b, 2, 3)
        with limiter.admit() as slot:
            try:
                await slot.run(int, "x")
            except ValueError as exc:
                return value, str(exc)
        return value, ""

    value, error = asyncio.run(main())
    assert value == 5 and "invalid literal" in error and limiter.in_flight == 0
    limiter.shutdown()


def test_a_released_slot_stays_taken_while_its_job_runs() -> None:
    limiter = WorkLimiter(workers=1, max_queue=1)
    gate, started = threading.Event(), threading.Event()

    def job() -> str:
        started.set()
        gate.wait(10)
        return "done"

    async def main() -> None:
        slot = limiter.admit()
        task = asyncio.ensure_future(slot.run(job))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(task, 0.05)  # the caller gives up (a request timeout)...
        slot.release()
        assert limiter.in_flight == 1  # ...but the thread still works: the slot is still counted
        queued = limiter.admit()
        queued_task = asyncio.ensure_future(queued.run(lambda: "never"))
        await asyncio.sleep(0.01)
        queued_task.cancel()
        queued.release()  # never started: cancelled, and its slot is free at once
        assert limiter.in_flight == 1
        gate.set()
        for _ in range(500):
            if limiter.in_flight == 0:
                break
            await asyncio.sleep(0.01)
        assert limiter.in_flight == 0

    asyncio.run(main())
    limiter.shutdown()


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="workers"):
        WorkLimiter(workers=0, max_queue=1)
