"""The ops' one thread pool, and the one rule for splitting a job into blocks of output rows.

Every row-local engine is a compiled block kernel ``kernel(*args, row0, r0, r1, out)`` that fills
output rows r0..r1 into ``out`` (whose row 0 is output row ``row0``) and releases the GIL, so plain
Python threads run blocks in parallel. This costs about what a Numba parallel region costs, but
only one compiled kernel per dtype is loaded or compiled (a prange driver compiles the whole block
again: seconds on a first run).

How many blocks a job gets is decided here only, by :func:`n_blocks`, from the runner's estimate
of its work in "value touches" (one multiply-add, compare or evaluation for one output value):

=================  =================================================================
convolution        output values × taps / 4 (four taps share one pass over a row chunk)
transposed conv.   input values × taps / 4
pooling            output values × window cells
upsampling         output values × (row taps + column taps)
activation         values × 16 (a transcendental costs about 16 multiply-adds)
pixel mapping      values
FFT tiles          tiles × tile cells × 8
=================  =================================================================
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Callable

from .. import _numba_env  # noqa: F401  (sets the Numba cache directory before Numba loads)
import numba

from ..errors import ParameterError

# below this much work (value touches) a job runs on the calling thread: waking the pool costs more
# than it saves, and on a busy machine a parallel region waits for its slowest thread. About 1 ms of
# work on this project's 2-core machine.
SERIAL_WORK = 1 << 20
# a big job gets this many blocks per thread, so that a descheduled thread holds up little
BLOCKS_PER_THREAD = 4
# the environment variable that forces the split (tests and benchmarks): "serial" or a block count
BLOCKS_ENV = "CONVCLI_BLOCKS"


def threads() -> int:
    """Numba's thread count (NUMBA_NUM_THREADS, default: the machine's cores); fixed per process."""
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


class WorkerPool:
    """The threads that run blocks. Made once per process by :func:`worker_pool`.

    A ThreadPoolExecutor starts its threads on the first submit, so making one costs nothing
    until a job is big enough to be split.
    """

    def __init__(self, n_threads: int) -> None:
        self.n_threads = n_threads
        self._executor = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="convcli")

    def run(self, job: Callable[[int, int], None], bounds: list[int]) -> None:
        """``job(bounds[b], bounds[b + 1])`` for every block b, in parallel; re-raises a block's error."""
        futures = [self._executor.submit(job, bounds[b], bounds[b + 1]) for b in range(len(bounds) - 1)]
        for f in futures:
            f.result()


@cache
def worker_pool() -> WorkerPool:
    """The process's one WorkerPool, made on first use (a cached factory, not a mutable global:
    the thread count cannot change once Numba is loaded, so one pool serves the whole process;
    should two threads race here, the spare pool has started no threads and is simply dropped)."""
    return WorkerPool(threads())


def forced_blocks() -> int | None:
    """The block count ``CONVCLI_BLOCKS`` forces ("serial" = 1, or a whole number ≥ 1), or None."""
    text = os.environ.get(BLOCKS_ENV, "").strip().lower()
    if not text:
        return None
    if text == "serial":
        return 1
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ParameterError(f"{BLOCKS_ENV} must be 'serial' or a whole number ≥ 1, got {text!r}")


def n_blocks(work: float, rows: int) -> int:
    """How many blocks of output rows a job of ``work`` value touches over ``rows`` rows gets.

    The one rule: serial (1) below SERIAL_WORK, else BLOCKS_PER_THREAD blocks per thread, never
    more than there are rows. ``CONVCLI_BLOCKS`` overrides it (capped at the rows).
    """
    forced = forced_blocks()
    if forced is not None:
        return max(1, min(rows, forced))
    if work < SERIAL_WORK:
        return 1
    return max(1, min(rows, BLOCKS_PER_THREAD * threads()))


def run_blocks(job: Callable[[int, int], None], rows: int, work: float) -> None:
    """Run ``job(r0, r1)`` over the blocks :func:`n_blocks` gives, on this thread when only one."""
    count = n_blocks(work, rows)
    if count <= 1:
        job(0, rows)
        return
    worker_pool().run(job, [b * rows // count for b in range(count + 1)])
