"""Amazon's flat files and feed documents, parsed by header name into typed rows (pure).

Rules: no I/O; every problem with a line is reported with its line number, never raised as a
traceback.
"""
