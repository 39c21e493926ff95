"""The bound of the domain's memos (issue 10; L7: the cost of a use case does not grow with
what the process saw before): ``_memo.remember`` as the refunds indexes, submitted refunds and
balances use it. A host's threads share the memos: another thread's change between looking at
the oldest entry and dropping it must not fail a request."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from kanorio_refunds.domain._memo import remember


def test_a_full_memo_drops_its_oldest_entries_below_the_limit() -> None:
    """B1: the memos behind the balance (issue 10): storing into a memo holding ``limit`` entries
    first drops its oldest, an eighth of the limit (at least one), then stores and returns the
    value; under the limit nothing is dropped; an overfull memo drops down to the limit too."""
    memo = {1: "a", 2: "b", 3: "c"}
    assert remember(memo, 4, "d", 3) == "d"
    assert list(memo.items()) == [(2, "b"), (3, "c"), (4, "d")]
    assert remember(memo, 5, "e", 5) == "e"
    assert list(memo.items()) == [(2, "b"), (3, "c"), (4, "d"), (5, "e")]
    over = {n: str(n) for n in range(6)}
    remember(over, 9, "9", 2)
    assert over == {5: "5", 9: "9"}
    full = {n: n for n in range(16)}
    remember(full, 99, 99, 16)
    assert list(full) == [*range(2, 16), 99]  # two (16 // 8) went, the oldest


def test_a_full_memo_stays_bounded_and_keeps_the_newest() -> None:
    """B1: the memos behind the balance (issue 10): 10,000 stores into a memo of limit 64 never
    leave more than 64 entries, and the newest stored is always kept."""
    memo: dict[int, int] = {}
    for n in range(10_000):
        remember(memo, n, n, 64)
        assert len(memo) <= 64
        assert memo[n] == n
    assert min(memo) >= 10_000 - 64


class _DroppedMeanwhile(dict[int, str]):
    """A memo whose oldest entry another thread drops just after we looked at it."""

    def __iter__(self) -> Iterator[int]:
        keys = list(super().__iter__())
        if keys:
            super().__delitem__(keys[0])
        return iter(keys)


class _ChangedDuringIteration(dict[int, str]):
    """A memo another thread resizes while we look at its oldest key."""

    def __iter__(self) -> Iterator[int]:
        raise RuntimeError("dictionary changed size during iteration")


def test_a_memo_changed_by_another_thread_still_takes_the_value() -> None:
    """B1: the memos behind the balance (issue 10): an oldest entry another thread dropped
    meanwhile, or a memo resized under us, is no error: the value is stored and returned (the oldest
    goes on a later call)."""
    dropped = _DroppedMeanwhile({1: "a", 2: "b"})
    assert remember(dropped, 3, "c", 2) == "c"
    assert dropped[3] == "c"
    changed = _ChangedDuringIteration({1: "a", 2: "b"})
    assert remember(changed, 3, "c", 2) == "c"
    assert dict(changed.items()) == {1: "a", 2: "b", 3: "c"}


def test_threads_sharing_a_memo_never_fail() -> None:
    """B1: the memos behind the balance (issue 10): eight threads filling one small memo at once
    (the first version's oldest-entry drop raised KeyError in the threaded state machine)."""
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
