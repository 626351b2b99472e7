"""Handing freed memory back between steps: garbage collected, malloc's free pages returned."""

import platform
import weakref

from components import process_memory


class _Node:
    def __init__(self):
        self.partner = self


def test_release_collects_reference_cycles_and_trims_glibcs_heap():
    node = _Node()
    alive = weakref.ref(node)
    del node
    # glibc has malloc_trim; elsewhere only the collection happens.
    assert process_memory.release_freed_memory() is (platform.libc_ver()[0] == "glibc")
    assert alive() is None


def test_release_without_malloc_trim_still_collects(monkeypatch):
    monkeypatch.setattr(process_memory, "_LIBC", None)
    node = _Node()
    alive = weakref.ref(node)
    del node
    assert process_memory.release_freed_memory() is False
    assert alive() is None
