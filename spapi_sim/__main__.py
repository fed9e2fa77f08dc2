"""``python -m spapi_sim`` runs ``acorn-spapi-sim``."""

from spapi_sim.cli import main

main()
