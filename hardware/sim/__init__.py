"""Stand-ins for counter hardware, for development (``make run``), tests and benchmarks.

    printer   ``PrinterStandIn``: a raw-TCP (port 9100) ESC/POS printer on loopback that answers
              status queries and writes each job it receives as a readable text file
    scanner   ``PtyScanner``: a socat pseudo-terminal pair; the agent reads one end as its serial
              scanner, people and tests type codes into the other

They speak the real protocols (TCP + ESC/POS, a tty), so the agent cannot tell them from the
devices. Not for production use; nothing here is imported by the rest of ``hardware``.
"""
