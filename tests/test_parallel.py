"""Work spread over forked processes: the same results, and no failure hidden or doubled."""

import os

import pytest

from outreach.schedule.parallel import map_forked, split

PARENT = os.getpid()


def squares(chunk):
    return [x * x for x in chunk]


def no_children_left():
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
    return True


def test_split_deals_round_robin_without_empty_parts():
    assert split([1, 2, 3, 4, 5], 2) == [[1, 3, 5], [2, 4]]
    assert split([1, 2], 4) == [[1], [2]]
    assert split([], 3) == [[]]


def test_forked_results_come_back_in_chunk_order():
    chunks = split(list(range(100)), 3)
    forked_in: list[int] = []
    assert map_forked(squares, chunks, after_fork=lambda: forked_in.append(1)) == \
        [squares(c) for c in chunks]
    assert forked_in == []  # after_fork ran in the children, never here
    assert no_children_left()


def test_a_failing_child_is_redone_here():
    def only_here(chunk):
        if os.getpid() != PARENT:
            os._exit(3)  # a child dying without a word, as a kill would leave it
        return squares(chunk)

    assert map_forked(only_here, [[1, 2], [3], [4]]) == [[1, 4], [9], [16]]
    assert no_children_left()


def test_an_error_is_raised_here_as_it_would_be_without_the_fork():
    def broken(chunk):
        if 3 in chunk:
            raise ValueError("chunk with 3")
        return chunk

    with pytest.raises(ValueError, match="chunk with 3"):
        map_forked(broken, [[1], [2], [3]])
    assert no_children_left()


def test_an_error_in_this_process_leaves_no_child_behind():
    def here_fails(chunk):
        if os.getpid() == PARENT:
            raise KeyError("here")
        return chunk * 10_000  # more than a pipe holds: the child is blocked writing

    with pytest.raises(KeyError):
        map_forked(here_fails, [[1], [2], [3]])
    assert no_children_left()


def test_the_collector_is_paused_for_the_work_and_left_as_it_was():
    import gc

    from outreach.schedule.parallel import collector_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()  # back on after an error too
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # off before: left off
    finally:
        gc.enable()
