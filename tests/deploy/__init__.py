"""Tests of the deployment scripts (``deploy/scripts``)."""
