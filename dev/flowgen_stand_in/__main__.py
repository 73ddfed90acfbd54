"""`python -m flowgen_stand_in --port N [--data-dir DIR]`: the stand-in as a process of its own;
`python -m flowgen_stand_in repair DATA_DIR`: keeps every intact record of a damaged journal."""

from flowgen_stand_in.server import main

main()
