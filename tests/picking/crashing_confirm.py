"""``acorn-hub amazon shipments confirm`` that dies by SIGKILL once Amazon has answered a
``confirmShipment`` and before the answer is recorded (a real crash between call and record).

python tests/picking/crashing_confirm.py
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from hub.amazon.shipments import confirm


def main() -> None:
    """Install the crash point, then run the real CLI."""
    finish = confirm._finish

    def die_when_confirmed(ctx: Any, row: Any, state: str, error: str | None) -> None:
        if state == "confirmed":
            os.kill(os.getpid(), signal.SIGKILL)  # like a power cut: no cleanup, no commit
        finish(ctx, row, state, error)

    confirm._finish = die_when_confirmed
    sys.argv = ["acorn-hub", "amazon", "shipments", "confirm"]
    from hub.cli.main import main as cli

    cli()


if __name__ == "__main__":
    main()
