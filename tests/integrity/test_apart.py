"""``engine._apart``: a value decoded, built and encoded in a forked child comes back as
the Literal the child made (bytes and JSON fields, nothing unpickled here), and what
ended the child comes back as one error of the kind the engine handles."""

from __future__ import annotations

import os

import pytest

from rillet.compiler._access import AccessError, follow
from rillet.engine._apart import encoded_apart
from rillet.errors import StoreError, TypeMismatchError
from rillet.types._literal import encode


def test_the_literal_made_apart_is_the_one_made_here():
    value = {"a": [1, 2], "b": "x" * 6000}
    here = encode(value, dict[str, object])
    there = encoded_apart(lambda: encode(value, dict[str, object]))
    assert there == here and there.blob == here.blob and there.blob is not None
    small = encoded_apart(lambda: encode([1, 2], list[int]))
    assert small == encode([1, 2], list[int]) and small.blob is None


def test_the_work_runs_in_another_process():
    lit = encoded_apart(lambda: encode(os.getpid(), int))
    assert lit.inline != os.getpid()


def _fails(exc: BaseException):
    def make():
        raise exc
    return make


def test_errors_of_the_child_come_back_as_the_engine_handles_them():
    with pytest.raises(AccessError, match=r"\[9\] failed: KeyError: 9"):
        encoded_apart(lambda: encode(follow({1: 2}, (9,)), int))
    with pytest.raises(TypeMismatchError, match="not an int"):
        encoded_apart(_fails(TypeMismatchError("not an int")))
    with pytest.raises(StoreError, match="ValueError: bad state"):
        encoded_apart(_fails(ValueError("bad state")))


def test_a_child_that_dies_without_an_answer_is_a_store_error():
    with pytest.raises(StoreError, match="ended without a result"):
        encoded_apart(lambda: os._exit(3))


def test_a_child_that_does_not_answer_is_ended():
    def hang():
        import time

        time.sleep(300)

    with pytest.raises(StoreError, match="did not answer within 0.5 s"):
        encoded_apart(hang, timeout=0.5)
