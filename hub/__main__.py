"""``python -m hub`` runs the ``acorn-hub`` CLI."""

from hub.cli import main

main()
