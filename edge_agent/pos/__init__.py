"""POS terminals: look up returns by receipt or order, record POS returns exactly once, and a
simulated terminal driving an agent through its public API (``make run``).

    returns  simulator
"""
