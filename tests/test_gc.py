"""The Array type and the cycle collector: Py_TPFLAGS_HAVE_GC, tp_traverse, and no tp_clear.

An Array holds strong references to its heap type (and through it the module), to the Array
whose memory it views (`base`), and to the object its imported buffer holds (the exporter of a
`frombuffer` Array). An exporter that stores the Array made from it closes a cycle that only the
collector can free. The oracle is CPython's own bookkeeping: weak references to the objects in
the cycle, `gc.get_objects()`, `gc.get_referents()` and tracemalloc.

Each test pauses automatic collection (the `paused_collector` fixture), so every collection
happens exactly where the test calls `gc.collect()`.
"""
import gc
import sys
import sysconfig
import tracemalloc
import weakref

import pytest

import rawcapi
from rawcapi import Array

pytestmark = [pytest.mark.quick, pytest.mark.valgrind]


class Exporter(bytearray):
    """A bytearray with a `__dict__` (to store the Array made from it) and weak references."""


class Holder:
    """A plain object with a `__dict__`."""


@pytest.fixture
def paused_collector():
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def ids(objects):
    return [id(o) for o in objects]


def test_every_array_is_tracked_and_reports_what_it_holds():
    a = Array([1, 2, 3, 4])
    view = a[::2]
    exporter = Exporter(b"\x01\x02\x03\x04")
    imported = Array.frombuffer(exporter)
    view_of_imported = imported[1:]
    data = bytes(range(8))
    imported_bytes = Array.frombuffer(data)
    for x in [a, view, imported, view_of_imported, imported_bytes, a + a, rawcapi.zeros(3), rawcapi.arange(4), a.T]:
        assert gc.is_tracked(x)
    # tp_traverse visits the type first (the heap-type rule), then `base`, then the exporter.
    assert ids(gc.get_referents(a)) == ids([Array])
    assert ids(gc.get_referents(view)) == ids([Array, a])
    assert ids(gc.get_referents(imported)) == ids([Array, exporter])
    assert ids(gc.get_referents(view_of_imported)) == ids([Array, imported])
    assert ids(gc.get_referents(imported_bytes)) == ids([Array, data])
    assert view.base is a and view_of_imported.base is imported and imported.base is exporter


def make_exporter_cycle(nbytes):
    """exporter -> its __dict__ -> Array -> imported buffer -> exporter; returns a weak reference
    to the exporter and nothing else."""
    exporter = Exporter(nbytes)
    exporter.array = Array.frombuffer(exporter)
    exporter.array[0] = 7  # the Array writes the exporter's memory
    assert exporter[0] == 7
    return weakref.ref(exporter)


def test_a_cycle_through_a_frombuffer_array_is_collected(paused_collector):
    exporter = make_exporter_cycle(1000)
    assert exporter() is not None, "only the cycle keeps the exporter alive"
    assert exporter().array.base is exporter()
    gc.collect()
    assert exporter() is None


def test_collected_cycles_leave_nothing_behind(paused_collector):
    nbytes, rounds = 1 << 18, 30
    arrays_before = sum(isinstance(o, Array) for o in gc.get_objects())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        refs = [make_exporter_cycle(nbytes) for _ in range(rounds)]
        during = tracemalloc.get_traced_memory()[0]
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert during - before >= rounds * nbytes  # the cycles really held their memory
    assert [r() for r in refs] == [None] * rounds
    assert after - before < nbytes, f"{after - before} bytes still traced after collecting {rounds} cycles"
    assert sum(isinstance(o, Exporter) for o in gc.get_objects()) == 0
    assert sum(isinstance(o, Array) for o in gc.get_objects()) == arrays_before


def test_a_cycle_through_a_views_base_is_collected(paused_collector):
    # view -> base (an Array) -> exporter -> holder -> view: the view is not the exporter's
    # own Array, and the cycle runs through `base`, not through an imported buffer.
    def make():
        exporter = Exporter(b"abcdefgh")
        base = Array.frombuffer(exporter)
        exporter.holder = Holder()
        exporter.holder.view = base[::2]
        assert exporter.holder.view.tolist() == list(b"aceg")
        return weakref.ref(exporter), weakref.ref(exporter.holder)

    exporter, holder = make()
    assert exporter() is not None and holder() is not None
    assert holder().view.base.base is exporter()
    gc.collect()
    assert exporter() is None and holder() is None


def test_the_collector_running_inside_an_arrays_dealloc(paused_collector):
    # The last Array holding an exporter releases its buffer in dealloc; the exporter dies and
    # its weakref callback runs a collection while that dealloc is under way. The Array, with a
    # refcount of zero, must already be untracked.
    seen = []

    def collect_now(_ref):
        seen.append(gc.collect())

    exporter = Exporter(b"\x05" * 64)
    ref = weakref.ref(exporter, collect_now)
    a = Array.frombuffer(exporter)
    del exporter
    assert a.tolist() == [5] * 64
    del a
    assert ref() is None and len(seen) == 1
    # And the same inside a collected cycle.
    exporter = Exporter(b"\x06" * 64)
    ref = weakref.ref(exporter, collect_now)
    exporter.array = Array.frombuffer(exporter)
    del exporter
    gc.collect()
    assert ref() is None and len(seen) == 2


@pytest.mark.skipif(sys.version_info < (3, 12), reason="Python-level __buffer__/__release_buffer__ (PEP 688) is 3.12+")
def test_python_release_buffer_that_reaches_arrays_during_the_collection(paused_collector):
    """A ring of exporters written in Python (PEP 688). Each holds in its `__dict__` the next
    exporter, an Array made from itself, an Array made from the next exporter (its only
    reference), and a `bytearray` exporter (which points back at it) with an Array made from that
    and a reversed view. Collecting the ring runs `__release_buffer__` from Array deallocs in the
    middle of the collection, after the collector has cleared some objects and before it clears
    others: when it clears one exporter's `__dict__`, the next exporter's hook runs with its own
    `__dict__` intact. Each hook reads every Array it reaches through its `__dict__`, and keeps
    (resurrects) the ones over the `bytearray` exporter.

    With no tp_clear, an Array a hook can reach has not been touched by the collector: every read
    gives its exporter's bytes, and the kept Arrays still do after the collection. (A tp_clear
    that dropped the buffer would leave them dangling; one that emptied them would show empty
    Arrays.) The Arrays over the Python exporters are not kept: CPython's own collection releases
    the memoryview those exporters return (`mbuf_clear`), whoever still holds a buffer of it;
    docs/05 §5."""
    hooks = []  # the index of the exporter of every __release_buffer__ call (None once cleared)
    seen = []  # (what was read, what it should be) for every Array a hook reached
    kept = []  # (Array, its exporter's bytes, reversed?): alive after the collection
    errors = []
    n = 8
    payloads = [bytes((i * 31 + k) % 256 for k in range(48)) for i in range(n)]

    class PyExporter:
        def __init__(self, index):
            self.payload = bytearray(payloads[index])
            self.index = index

        def __buffer__(self, flags):
            return memoryview(self.payload)

        def __release_buffer__(self, view):
            try:
                attributes = dict(vars(self))  # empty once the collector has cleared this exporter
                hooks.append(attributes.get("index"))
                if not attributes:
                    return
                expected = {
                    "array": payloads[self.index],
                    "next_array": payloads[(self.index + 1) % n],
                    "plain_array": bytes(attributes["plain"]),
                    "plain_view": bytes(attributes["plain"])[::-1],
                }
                for name, want in expected.items():
                    value = attributes[name]
                    seen.append((bytes(value.tolist()), want))
                    seen.append((bytes(memoryview(value)), want))
                    if name.startswith("plain"):
                        kept.append((value, want))
            except Exception as exc:  # it would go to sys.unraisablehook
                errors.append(repr(exc))

    def make_ring():
        ring = [PyExporter(i) for i in range(n)]
        for i, e in enumerate(ring):
            e.next = ring[(i + 1) % n]
            e.array = Array.frombuffer(e)
            assert e.array.tolist() == list(e.payload)
            e.plain = Exporter(bytes(range(i, i + 40)))
            e.plain.owner = e
            e.plain_array = Array.frombuffer(e.plain)
            e.plain_view = e.plain_array[::-1]
        for e in ring:
            e.next_array = Array.frombuffer(e.next)
            # A real dict object rather than inline attribute values: on CPython 3.12.1 a hook
            # that calls vars() on an exporter whose inline values the collector has cleared
            # crashes the interpreter, with memoryview(e) in place of Array.frombuffer(e) too.
            vars(e)
        return [weakref.ref(e) for e in ring] + [weakref.ref(e.plain) for e in ring]

    refs = make_ring()
    assert all(r() is not None for r in refs)
    gc.collect()
    assert errors == []
    assert len(hooks) >= n, "the ring was not collected"
    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        # The free-threaded collector (Python/gc_free_threading.c) orders its clears and the
        # deallocations they cause differently: on 3.13.5t every hook ran after every exporter's
        # __dict__ was cleared, so no hook reaches an Array; the rest of the test still holds.
        assert kept, "no hook reached an Array through its __dict__ during the collection"
    for got, want in seen:
        assert got == want
    for array, want in kept:
        assert bytes(array.tolist()) == want
        assert bytes(memoryview(array)) == want
    array = None
    kept.clear()
    gc.collect()
    assert errors == []
    assert [r() for r in refs] == [None] * len(refs)
