"""``acorn-hub amazon refunds submit`` that dies by SIGKILL at a chosen point (a real crash).

python tests/amazon/crashing_cli.py after-create    dies once createFeed has answered,
                                                    before the feed id is recorded
python tests/amazon/crashing_cli.py before-create   dies after the feed document is recorded
                                                    and the lease renewed, before createFeed
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from hub.amazon.refunds import submissions


def die(*_args: Any, **_kwargs: Any) -> None:
    """Crash like a power cut: no cleanup, no commit."""
    os.kill(os.getpid(), signal.SIGKILL)


def main(point: str) -> None:
    """Install the crash point, then run the real CLI."""
    if point == "after-create":
        submissions.record_sent = die
    elif point == "before-create":
        renew = submissions._renew

        def renew_then_die(*args: Any, **kwargs: Any) -> None:
            renew(*args, **kwargs)
            die()

        submissions._renew = renew_then_die
    else:
        raise SystemExit(f"unknown crash point {point!r}")
    sys.argv = ["acorn-hub", "amazon", "refunds", "submit"]
    from hub.cli.main import main as cli

    cli()


if __name__ == "__main__":
    main(sys.argv[1])
