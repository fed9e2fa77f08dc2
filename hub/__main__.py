"""``python -m hub`` runs the ``acorn-hub`` CLI."""

from hub.cli.main import main

main()
