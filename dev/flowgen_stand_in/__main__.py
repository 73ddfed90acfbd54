"""`python -m flowgen_stand_in --port N [--data-dir DIR]`: the stand-in as a process of its own."""

from flowgen_stand_in.server import main

main()
