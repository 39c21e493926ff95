"""The domain's bounded memos (issue 10) are shared by a host's threads: another thread's
change between looking at the oldest entry and dropping it must not fail a request."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from kanorio_refunds.domain._memo import remember


class _DroppedMeanwhile(dict[int, str]):
    """A memo whose oldest entry another thread drops just after we looked at it."""

    def __iter__(self) -> Iterator[int]:
        keys = list(super().__iter__())
        if keys:
            super().__delitem__(keys[0])
        return iter(keys)


def test_the_oldest_entry_goes_when_the_memo_is_full() -> None:
    """L7: bounded memory, oldest first; the newest is kept."""
    memo = {1: "a", 2: "b", 3: "c"}
    assert remember(memo, 4, "d", 3) == "d"
    assert memo == {2: "b", 3: "c", 4: "d"}
    assert remember(memo, 5, "e", 10) == "e"
    assert list(memo) == [2, 3, 4, 5]


def test_a_full_memo_shrinks_to_its_limit() -> None:
    """L7: a memo over its limit (its limit lowered) is brought back under it."""
    memo = {n: str(n) for n in range(6)}
    remember(memo, 9, "9", 3)
    assert memo == {4: "4", 5: "5", 9: "9"}


def test_an_entry_dropped_by_another_thread_meanwhile_is_no_error() -> None:
    """L7: the old `del memo[next(iter(memo))]` raised KeyError here."""
    memo = _DroppedMeanwhile({1: "a", 2: "b"})
    assert remember(memo, 3, "c", 2) == "c"
    assert 3 in memo
    assert len(memo) <= 2


def test_threads_sharing_a_memo_never_fail() -> None:
    """L7: eight threads filling one small memo at once."""
    memo: dict[int, int] = {}
    failures: list[BaseException] = []

    def fill(base: int) -> None:
        try:
            for n in range(20_000):
                remember(memo, base + n, n, 8)
        except BaseException as e:  # any escape is the failure looked for
            failures.append(e)

    threads = [threading.Thread(target=fill, args=(k * 100_000,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(memo) <= 8 + len(threads)


class _ChangedDuringIteration(dict[int, str]):
    """A memo another thread resizes while we look at its oldest key."""

    def __iter__(self) -> Iterator[int]:
        raise RuntimeError("dictionary changed size during iteration")


def test_a_memo_changed_during_iteration_still_takes_the_value() -> None:
    """L7: the value is stored and returned; the oldest goes on a later call."""
    memo = _ChangedDuringIteration({1: "a", 2: "b"})
    assert remember(memo, 3, "c", 2) == "c"
    assert dict(memo.items()) == {1: "a", 2: "b", 3: "c"}
