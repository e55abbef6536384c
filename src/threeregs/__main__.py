"""Run the ``threeregs`` command with ``python -m threeregs``."""

from threeregs.cli import main

main(prog_name="threeregs")
