"""Types of ``interlock.compat.ft_utils.local``."""

from interlock.collections import LocalWrapper as LocalWrapper

from typing import Any, Callable

__all__ = ["LocalWrapper", "BatchExecutor", "get_local_wrapper", "release_local_wrapper",
           "__version__"]

__version__: str

class BatchExecutor:
    """``load()`` hands out ``source()``'s results in order, ``size`` calls at a time."""

    def __init__(self, source: Callable[[], Any], size: int) -> None: ...
    def load(self) -> Any: ...
    def as_local(self) -> LocalWrapper: ...

def get_local_wrapper(wrapped: Any) -> LocalWrapper: ...
def release_local_wrapper(wrapper: LocalWrapper) -> None: ...
