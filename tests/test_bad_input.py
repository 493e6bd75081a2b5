"""Item 2: every callable, every bad input -> the right exception with the right message; and
every good input (all buffer layouts, all str kinds) -> the oracle's answer.

The cases live in tests/callables.py, shared with the leak, thread and fork tests.
"""
import pytest

import rawcapi
from callables import SPECS, call, good_and_expected, public_names

pytestmark = pytest.mark.valgrind  # scripts/sanitize runs this whole file under memcheck

BAD = [pytest.param(spec, case, id=f"{spec.name}-{case.label}") for spec in SPECS for case in spec.bad]
GOOD = [pytest.param(spec, case, id=f"{spec.name}-{case.label}") for spec in SPECS for case in spec.good if spec.oracle]


def test_the_table_covers_every_callable():
    # A function, type or attribute added to rawcapi without an entry in tests/callables.py
    # fails here (the table also covers operators and protocols dir() does not list).
    assert public_names() - {spec.name for spec in SPECS} == set()


@pytest.mark.parametrize("spec, case", BAD)
def test_bad_input_raises_exactly(spec, case):
    with pytest.raises(case.exc, match=case.match) as info:
        call(spec, case)
    # Exactly the type, not a subclass that happens to match (e.g. UnicodeError for ValueError).
    assert type(info.value) is case.exc


@pytest.mark.parametrize("spec, case", GOOD)
def test_good_input_matches_oracle(spec, case):
    result, expected = good_and_expected(spec, case)
    assert result == expected


@pytest.mark.parametrize("spec, case", BAD)
def test_module_still_works_after_each_error(spec, case):
    with pytest.raises(case.exc):
        call(spec, case)
    assert rawcapi.fast_sum(b"\x01\x02") == 3
    assert rawcapi.count_lines("a\nb\n") == 2


def test_bytearray_cannot_resize_while_exported_and_can_after():
    # The protocol's promise rawcapi relies on while it reads with the GIL released.
    data = bytearray(b"\x01" * 10)
    view = memoryview(data)
    with pytest.raises(BufferError, match="^Existing exports of data: object cannot be re-sized$"):
        data.append(1)
    assert rawcapi.fast_sum(view) == 10
    view.release()
    data.append(1)
    assert rawcapi.fast_sum(data) == 11
