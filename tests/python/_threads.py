"""Thread helpers shared by the lock tests (imported as a plain module: pytest
puts this directory on sys.path)."""

import threading


def in_thread(fn, *args):
    """Run fn(*args) in a new thread; return its result (or raise its exception)."""
    box = {}

    def run():
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - reported below
            box["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class Holder:
    """A thread that takes `acquire()` (which must succeed) and holds it until
    the with-block ends, then calls `release()`; its errors fail the test."""

    def __init__(self, acquire, release):
        self._acquire, self._release = acquire, release
        self.held = threading.Event()
        self.go = threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.error = None

    def _run(self):
        try:
            assert self._acquire()
            self.held.set()
            self.go.wait()
            self._release()
        except BaseException as e:  # noqa: BLE001
            self.error = e
            self.held.set()

    def __enter__(self):
        self.thread.start()
        assert self.held.wait(10)
        assert self.error is None
        return self

    def __exit__(self, *exc):
        self.go.set()
        self.thread.join()
        assert self.error is None
