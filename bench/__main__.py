"""`make bench`: every benchmark, printed beside its target (figures, not tests).

    python -m bench            all of them
    python -m bench spine      one group (spine, ingest, counter, decision, policy, desk, amazon,
                               allocation, fleet, stock, rollout, journey, listings,
                               routing, picking, settlements, exports, capacity,
                               reasons, workers, check)
"""

from __future__ import annotations

import importlib
import sys

GROUPS = ["spine", "ingest", "counter", "decision", "policy", "desk", "amazon", "allocation",
          "fleet", "stock", "rollout", "journey", "listings", "routing",
          "picking", "settlements", "exports", "capacity", "reasons", "workers", "check"]


def main(argv: list[str]) -> None:
    """Run the named groups, or all."""
    wanted = argv or GROUPS
    unknown = [name for name in wanted if name not in GROUPS]
    if unknown:
        sys.exit(f"unknown benchmark group(s) {unknown}; choose from {GROUPS}")
    for name in wanted:
        print(f"\n== {name} ==", flush=True)
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
