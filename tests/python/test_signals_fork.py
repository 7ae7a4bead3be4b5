"""Blocking waits of interlock.locks under signals and fork.

Signals: for each kind of wait, the main thread blocks on a lock that a helper
thread holds; a signal arrives (from setitimer, pthread_kill to the main
thread, or SIGINT sent to the process from another thread) and its handler's
exception must end the wait within 1 s, with nothing acquired: the holder can
still release, and a fresh acquisition works.

Fork: a thread of the parent is parked on a lock the main thread holds; the
main thread forks; in the child the lock can be released and acquired again
(the child's parking lot starts empty) and exits 0.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
import warnings

import pytest

from interlock.compat.syncx import locks as sx
from interlock.locks import Lock, RLock, RWLock

# pytest-timeout's default method uses SIGALRM, which these tests use too.
pytestmark = pytest.mark.timeout(60, method="thread")

MAIN_IDENT = threading.main_thread().ident


class Boom(Exception):
    """Raised by the test signal handlers."""


class Case:
    """One kind of wait: `wait()` blocks while `hold()` is held by another thread."""

    def __init__(self, name, make):
        self.name = name
        self.make = make

    def __repr__(self):
        return self.name


def _lock_case(cls, wait_kind):
    def make():
        lock = cls()
        hold, unhold = lock.acquire, lock.release
        probe = lambda: lock.acquire(False)  # noqa: E731 - False while the holder holds

        if wait_kind == "acquire":
            def wait():
                return lock.acquire()
        elif wait_kind == "acquire_timeout":
            def wait():
                return lock.acquire(timeout=30)
        elif wait_kind == "with":
            def wait():
                with lock:
                    pass
                lock.acquire()  # leave it held, like the others
                return True
        else:  # guard
            def wait():
                g = lock.guard()
                wait.guards.append(g)
                return g is not None
            wait.guards = []

        def fresh():
            ok = lock.acquire(timeout=10)
            if ok:
                lock.release()
            return ok

        def undo():
            if wait_kind == "guard":
                wait.guards.pop().release()
            else:
                lock.release()

        return hold, unhold, wait, probe, fresh, undo

    return Case(f"{cls.__module__.split('.')[-2]}.{cls.__name__}.{wait_kind}", make)


def _rw_case(cls, side, form):
    def make():
        rw = cls()
        if side == "read":  # wait for a read hold while a writer holds
            hold, unhold = rw.acquire_write, rw.write_release
            probe = rw.try_acquire_read
            acquire, guard, release = rw.acquire_read, rw.read_guard, rw.read_release
        else:  # wait for the write hold while a reader holds
            hold, unhold = rw.acquire_read, rw.read_release
            probe = rw.try_acquire_write
            acquire, guard, release = rw.acquire_write, rw.write_guard, rw.write_release

        guards = []

        def wait():
            if form == "acquire":
                return acquire()
            if form == "acquire_timeout":
                return acquire(timeout=30)
            g = guard()
            guards.append(g)
            return g is not None

        def fresh():
            ok = acquire(timeout=10)
            if ok:
                release()
            return ok

        def undo():
            if form == "guard":
                guards.pop().release()
            else:
                release()

        return hold, unhold, wait, probe, fresh, undo

    return Case(f"{cls.__module__.split('.')[-2]}.RWLock.{side}.{form}", make)


CASES = (
    [_lock_case(Lock, k) for k in ("acquire", "acquire_timeout", "with", "guard")]
    + [_lock_case(RLock, k) for k in ("acquire", "acquire_timeout", "with", "guard")]
    + [_rw_case(RWLock, s, f) for s in ("read", "write") for f in ("acquire", "acquire_timeout", "guard")]
    + [_lock_case(sx.Lock, "acquire"), _lock_case(sx.RLock, "with"),
       _rw_case(sx.RWLock, "write", "acquire")]
)


class HolderThread:
    def __init__(self, hold, unhold):
        self.hold, self.unhold = hold, unhold
        self.held, self.go = threading.Event(), threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            assert self.hold()
            self.held.set()
            self.go.wait()
            self.unhold()
        except BaseException as e:  # noqa: BLE001
            self.error = e
            self.held.set()

    def start(self):
        self.thread.start()
        assert self.held.wait(10)
        assert self.error is None

    def finish(self):
        self.go.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        assert self.error is None


class Sender:
    """Sends a signal from another thread once armed, after the main thread had time to block.

    arm() is called where the signal may land (inside the test's pytest.raises):
    a signal sent at start() could arrive in Thread.start()'s own wait on a
    loaded machine, before the wait under test began.
    """

    def __init__(self, send, delay=0.05):
        self.send, self.delay = send, delay
        self.sent_at = None
        self.armed = threading.Event()
        self.cancelled = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.armed.wait()
        if self.cancelled:
            return
        time.sleep(self.delay)  # let the main thread block (the test holds either way)
        self.sent_at = time.monotonic()
        self.send()

    def start(self):
        self.thread.start()

    def arm(self):
        self.armed.set()

    def join(self):
        if not self.armed.is_set():  # never armed (a failure before): send nothing
            self.cancelled = True
            self.armed.set()
        self.thread.join(10)


def _raise_boom(signum, frame):
    raise Boom(signum)


def _interrupt_and_check(case, deliver):
    """deliver() prepares a signal; it returns (expected exception type, sent-at getter,
    cleanup, arm), and the signal comes after arm()."""
    hold, unhold, wait, probe, fresh, undo = case.make()
    holder = HolderThread(hold, unhold)
    holder.start()
    try:
        exc_type, sent_at, cleanup, arm = deliver()
        try:
            with pytest.raises(exc_type):
                arm()
                wait()
                pytest.fail("the wait returned instead of raising")
            caught = time.monotonic()
        finally:
            cleanup()
        assert caught - sent_at() < 1.0
        # nothing was acquired: the holder still holds
        assert probe() is False
    finally:
        holder.finish()
    # consistent afterwards: a fresh acquisition works, and the blocking form too
    assert fresh() is True
    assert wait() is True
    undo()


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_setitimer_exception_ends_wait(case):
    def deliver():
        old = signal.signal(signal.SIGALRM, _raise_boom)
        start = []

        def arm():
            start.append(time.monotonic())
            signal.setitimer(signal.ITIMER_REAL, 0.05)

        def cleanup():
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

        return Boom, (lambda: start[0] + 0.05), cleanup, arm

    _interrupt_and_check(case, deliver)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_pthread_kill_main_thread(case):
    def deliver():
        old = signal.signal(signal.SIGUSR1, _raise_boom)
        sender = Sender(lambda: signal.pthread_kill(MAIN_IDENT, signal.SIGUSR1))
        sender.start()

        def cleanup():
            sender.join()
            signal.signal(signal.SIGUSR1, old)

        return Boom, (lambda: sender.sent_at), cleanup, sender.arm

    _interrupt_and_check(case, deliver)


BASIC_CASES = [c for c in CASES if c.name in {
    "interlock.Lock.acquire", "interlock.RLock.acquire",
    "interlock.RWLock.read.acquire", "interlock.RWLock.write.acquire"}]
assert len(BASIC_CASES) == 4


@pytest.mark.parametrize("case", BASIC_CASES, ids=repr)
def test_sigint_to_process_raises_keyboard_interrupt(case):
    def deliver():
        old = signal.signal(signal.SIGINT, signal.default_int_handler)
        sender = Sender(lambda: os.kill(os.getpid(), signal.SIGINT))
        sender.start()

        def cleanup():
            sender.join()
            signal.signal(signal.SIGINT, old)

        return KeyboardInterrupt, (lambda: sender.sent_at), cleanup, sender.arm

    _interrupt_and_check(case, deliver)


@pytest.mark.parametrize("case", BASIC_CASES, ids=repr)
def test_handler_that_returns_lets_the_wait_go_on(case):
    hold, unhold, wait, probe, fresh, undo = case.make()
    holder = HolderThread(hold, unhold)
    holder.start()
    ran = []

    def handler(signum, frame):
        ran.append(signum)
        holder.go.set()  # now let the holder release

    old = signal.signal(signal.SIGUSR1, handler)
    sender = Sender(lambda: signal.pthread_kill(MAIN_IDENT, signal.SIGUSR1))
    try:
        sender.start()
        sender.arm()
        assert wait() is True
    finally:
        sender.join()
        signal.signal(signal.SIGUSR1, old)
    assert ran == [signal.SIGUSR1]
    holder.finish()
    undo()
    assert fresh() is True


def test_interrupted_writer_does_not_strand_readers():
    """Readers queued behind a parked writer get in once that writer gives up."""
    rw = RWLock()
    holder = HolderThread(rw.acquire_read, rw.read_release)
    holder.start()
    reader_result = []
    reader_started = threading.Event()

    def late_reader():
        reader_started.set()
        time.sleep(0.05)  # arrive after the main thread parked as a writer
        ok = rw.acquire_read(timeout=20)
        reader_result.append(ok)
        if ok:
            rw.read_release()

    old = signal.signal(signal.SIGUSR1, _raise_boom)
    reader = threading.Thread(target=late_reader)
    sender = Sender(lambda: signal.pthread_kill(MAIN_IDENT, signal.SIGUSR1), delay=0.3)
    try:
        reader.start()
        reader_started.wait()
        sender.start()
        with pytest.raises(Boom):
            sender.arm()
            rw.acquire_write()
    finally:
        sender.join()
        signal.signal(signal.SIGUSR1, old)
    reader.join(10)
    assert reader_result == [True]  # while the holder still reads
    assert not rw.is_write_locked()
    holder.finish()
    assert not rw.is_locked()


def test_worker_threads_are_not_interrupted():
    """A signal handled on the main thread does not end waits of other threads."""
    lock = Lock()
    lock.acquire()
    result = []
    started = threading.Event()

    def worker():
        started.set()
        result.append(lock.acquire(timeout=20))
        lock.release()

    t = threading.Thread(target=worker)
    t.start()
    started.wait()
    ran = []
    old = signal.signal(signal.SIGUSR1, lambda s, f: ran.append(s))
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(0.1)  # the handler runs on the main thread meanwhile
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert ran == [signal.SIGUSR1]
    lock.release()
    t.join(10)
    assert result == [True]


# ---------------------------------------------------------------- fork


def _fork_child(check):
    """Fork; run check() in the child (exit code 0 if it passes); return the child's exit code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(20)  # a hang kills the child instead of the test run
            check()
            code = 0
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _child_threads_work(lock_factory):
    """In the child: a new thread parks on a lock and is woken."""
    lock = lock_factory()
    lock.acquire()
    got = []
    started = threading.Event()

    def waiter():
        started.set()
        got.append(lock.acquire(timeout=10))
        lock.release()

    t = threading.Thread(target=waiter)
    t.start()
    started.wait()
    time.sleep(0.02)
    lock.release()
    t.join(10)
    assert got == [True]


FORK_KINDS = ["Lock", "RLock", "RWLock", "syncx.Lock"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("kind", FORK_KINDS)
def test_fork_with_a_parked_waiter(kind):
    if kind == "RWLock":
        lock = RWLock()
        hold, release = lock.acquire_write, lock.write_release
        wait, wait_release = (lambda: lock.acquire_read(timeout=30)), lock.read_release
    else:
        lock = {"Lock": Lock, "RLock": RLock, "syncx.Lock": sx.Lock}[kind]()
        hold, release = lock.acquire, lock.release
        wait, wait_release = (lambda: lock.acquire(timeout=30)), lock.release

    assert hold()
    got = []
    started = threading.Event()

    def parked():
        started.set()
        ok = wait()
        got.append(ok)
        if ok:
            wait_release()

    t = threading.Thread(target=parked)
    t.start()
    started.wait()
    time.sleep(0.05)  # let it park (the test holds either way)

    def child():
        # the main thread's hold survived the fork; the parked thread did not
        assert lock.is_locked()
        release()
        assert not lock.is_locked()
        # the same lock, used by threads of the child: one parks, the main thread wakes it
        assert hold() is True
        got_in_child = []
        child_started = threading.Event()

        def child_waiter():
            child_started.set()
            ok = wait()
            got_in_child.append(ok)
            if ok:
                wait_release()

        th = threading.Thread(target=child_waiter)
        th.start()
        child_started.wait()
        time.sleep(0.02)
        release()
        th.join(10)
        assert got_in_child == [True]
        assert not lock.is_locked()
        _child_threads_work(Lock)
        _child_threads_work(RLock)
        rw = RWLock()
        assert rw.acquire_write(timeout=5) and rw.write_release() is None
        assert rw.acquire_read(timeout=5)
        rw.read_release()

    code = _fork_child(child)
    release()
    t.join(10)
    assert not t.is_alive()
    assert got == [True]
    assert code == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_while_another_thread_runs_a_once():
    """A Once whose function was running in a thread of the parent is reset in
    the child (that thread does not exist there), so the child can run it."""
    from interlock.locks import Once

    once = Once()
    inside, leave = threading.Event(), threading.Event()

    def slow():
        inside.set()
        leave.wait(30)
        return "parent"

    t = threading.Thread(target=lambda: once.call(slow))
    t.start()
    assert inside.wait(10)

    def child():
        assert not once.is_done()
        assert once.call(lambda: "child") == "child"
        assert once.is_done() and once.call(lambda: "again") == "child"

    code = _fork_child(child)
    leave.set()
    t.join(10)
    assert code == 0
    assert once.call(lambda: "late") == "parent"

