"""``acorn-hub``: the command line of the hub (Typer), one module per command group.

Rules: commands build their settings once, parse arguments, open the database through one
helper (``db.database``: it never creates one; only ``db upgrade`` and ``serve`` migrate), call
a context and print; bad input is a readable message and a non-zero exit, never a traceback.

    main  db  serve  people  risk  dead_letters  amazon
"""
