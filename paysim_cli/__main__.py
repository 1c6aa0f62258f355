"""Allows `python -m paysim_cli`."""

from paysim_cli.app import main

main()
