"""``acorn-hub``: the command line of the hub (Typer), one module per command group.

Rules: commands parse arguments, open the database through one helper, call a context and print;
bad input is a readable message and a non-zero exit, never a traceback.

    main  serve  people  risk  dead_letters  amazon
"""
