"""The per-run state (the pixel limit, the write guard's registry) lives in context variables: a run
in its own context leaves nothing behind, threads that copy the context share the run's registry,
and a signal handled in the main thread cleans up the temporary files a worker thread made."""
from __future__ import annotations

import contextvars
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from convcli import limits, safeio


def test_a_limit_set_in_a_run_context_stays_there():
    limits.set_max_pixels(1234)

    def run():
        limits.set_max_pixels(50)
        with ThreadPoolExecutor(1) as pool:        # a copy of the run's context sees the run's limit
            seen = pool.submit(contextvars.copy_context().run, limits.max_pixels).result()
        return limits.max_pixels(), seen

    assert contextvars.copy_context().run(run) == (50, 50)
    assert limits.max_pixels() == 1234 and limits.override() == 1234


def test_a_thread_without_the_context_sees_the_default(monkeypatch):
    monkeypatch.delenv(limits.ENV, raising=False)
    limits.set_max_pixels(77)
    got = []
    t = threading.Thread(target=lambda: got.append(limits.override()))
    t.start()
    t.join()
    assert got == [None] and limits.override() == 77


def test_runs_in_their_own_contexts_do_not_share_what_they_read(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("1,2\n")

    def reader():
        safeio.begin_run()
        safeio.note_read(str(src))
        with pytest.raises(Exception, match="overwrite the input"):
            safeio.check_target(str(src))

    contextvars.copy_context().run(reader)

    def other():
        safeio.begin_run()
        safeio.check_target(str(src))          # another run never read it: writable

    contextvars.copy_context().run(other)


def _worker_stages(path: str) -> None:
    safeio.write_file(path, b"side output")    # deferred: a temp file waits for the run's commit


def test_a_workers_temp_file_is_in_the_runs_registry(tmp_path):
    target = tmp_path / "trace.json"

    def run():
        outer = safeio.begin_run()
        safeio.defer(str(target))
        with ThreadPoolExecutor(1) as pool:
            pool.submit(contextvars.copy_context().run, _worker_stages, str(target)).result()
        temps = [p for p in os.listdir(tmp_path) if p.endswith(".part")]
        assert len(temps) == 1 and not target.exists()
        safeio.end_run(commit=False, outer=outer)

    contextvars.copy_context().run(run)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGUSR1"),
                    reason="signal handlers run in the main thread only")
def test_a_signal_in_the_main_thread_removes_a_workers_temp_file(tmp_path):
    target = tmp_path / "stats.json"

    class Stop(BaseException):
        pass

    def handler(signum, frame):
        safeio.remove_temps()                  # what the CLI's handler does, in the run's context
        raise Stop

    def run():
        outer = safeio.begin_run()
        try:
            safeio.defer(str(target))
            with ThreadPoolExecutor(1) as pool:
                pool.submit(contextvars.copy_context().run, _worker_stages, str(target)).result()
            assert [p for p in os.listdir(tmp_path) if p.endswith(".part")]
            signal.raise_signal(signal.SIGUSR1)
        except Stop:
            return "interrupted"
        finally:
            safeio.end_run(commit=False, outer=outer)

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        assert contextvars.copy_context().run(run) == "interrupted"
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert os.listdir(tmp_path) == []
