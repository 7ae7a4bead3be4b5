"""``python -m interlock``: a self-check.

Prints the version and the build (compiler, GIL or free-threaded), checks that
the native primitives work, and times what exists against its standard-library
counterpart.  ``--json`` prints the same as JSON; ``--quick`` runs shorter.
"""

from interlock._selfcheck import main

raise SystemExit(main())
