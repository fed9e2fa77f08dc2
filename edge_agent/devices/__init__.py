"""The counter's devices: the scanner's supervisor and live thread, the durable print queue,
and discovery for technicians.

Rules: a device failure never blocks the counter; print jobs are durable (SQLite) and retried.

    scanner  print_jobs  print_queue  discovery
"""
