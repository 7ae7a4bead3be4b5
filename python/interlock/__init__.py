"""interlock: locks and synchronisation primitives with a C++20 core.

The compiled part is one extension module, ``interlock._interlock``; this
package re-exports what is public. Importing it stays cheap: only the
extension is loaded here.
"""

from . import _interlock
from ._interlock import __version__, build_info

__all__ = ["__version__", "build_info"]
