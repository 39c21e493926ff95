"""The mutation score of the domain, from mutmut's results (``make mutation``; not a test).

Reads ``mutmut results --all true`` and the excluded mutants listed in docs/dev/mutation.md
(table rows whose first cell names one or more mutants, each in backticks), and prints the
counts and

    score = (killed + timeout) / (mutants − excluded survivors)

Exits 1 when the score is under the goal (95 %), or when mutants are left unchecked. An
exclusion whose mutant no longer survives (renumbered after a change to its function, or
killed since) is reported as stale: review the list then.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

GOAL = 95.0
DOC = Path(__file__).resolve().parents[2] / "docs" / "dev" / "mutation.md"
_RESULT = re.compile(r"^\s*(kanorio_refunds\.\S+): (.+?)\s*$")
_FIRST_CELL = re.compile(r"^\|([^|]*)\|")
_NAME = re.compile(r"`(kanorio_refunds\.[^`]+)`")


def excluded_mutants(doc: Path = DOC) -> set[str]:
    return {
        name
        for line in doc.read_text(encoding="utf-8").splitlines()
        if (cell := _FIRST_CELL.match(line))
        for name in _NAME.findall(cell.group(1))
    }


def results() -> dict[str, str]:
    out = subprocess.run(
        [str(Path(sys.executable).with_name("mutmut")), "results", "--all", "true"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {m.group(1): m.group(2) for line in out.splitlines() if (m := _RESULT.match(line))}


def main() -> int:
    status = results()
    excluded = excluded_mutants()
    counts = Counter(status.values())
    left_out = {name for name in excluded if status.get(name) in ("survived", "no tests")}
    stale = sorted(excluded - left_out)
    detected = counts["killed"] + counts["timeout"]
    considered = len(status) - len(left_out)
    score = 100.0 * detected / considered if considered else 0.0
    print(f"mutants: {len(status)}")
    for name, count in sorted(counts.items()):
        print(f"  {name}: {count}")
    print(f"excluded (docs/dev/mutation.md): {len(left_out)}")
    if stale:
        print(f"stale exclusions (no longer surviving): {len(stale)}")
        for name in stale:
            print(f"  {name}: {status.get(name, 'gone')}")
    missed = sorted(
        name
        for name, s in status.items()
        if s not in ("killed", "timeout") and name not in left_out
    )
    if missed:
        print("not killed and not excluded:")
        for name in missed:
            print(f"  {name}: {status[name]}")
    print(f"score: {score:.1f} % ({detected} of {considered}); goal {GOAL:.0f} %")
    unchecked = counts["not checked"]
    return 0 if score >= GOAL and not unchecked else 1


if __name__ == "__main__":
    sys.exit(main())
