"""``python -m interlock``: the report a user runs first (platform, build,
self-check, and benchmarks against the stdlib and the peer libraries).
``python -m interlock --help`` lists the options; the machinery is in
``interlock._report``. Importing this module does not run the report."""

from interlock._report import main

if __name__ == "__main__":
    raise SystemExit(main())
