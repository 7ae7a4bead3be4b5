"""Types of ``interlock.compat.ft_utils.local``."""

from interlock.collections import LocalWrapper as LocalWrapper

__all__ = ["LocalWrapper"]
