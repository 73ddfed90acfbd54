"""A MongoDB stand-in that real pymongo talks to over the wire: mongomock behind the wire
protocol, one lock around every command, and a journal that survives kill -9.

Run it with `python -m flowgen_stand_in`; start it from Python with
`flowgen_stand_in.launcher.MongoStandIn`. Local runs and tests use it where no MongoDB server can
be installed; `MONGO_URI` replaces it with a real one.

Persistence (`journal`, `frames`; docs/stand-in-journal.md): a snapshot plus an append-only
journal of after-images, each command's changes one frame with its length and a CRC-32. At
start a torn frame at the very end (an append a kill interrupted, never acknowledged) is
dropped, said on stderr and kept aside in `journal.bson.torn-<time>`; any other damage stops
the start with the file and the byte offset, and changes nothing. Then

    python -m flowgen_stand_in repair DATA_DIR      (or: flowgen repair-journal [--data-dir DIR])

keeps every frame that checks out, before and after the damage, after copying the file to
`<name>.bak-<time>`. Data directories from before frames load, and are rewritten in frames.

A write the journal cannot take (a full disk, any OSError) is cut off the journal and undone in
memory, and the client gets an error: OutOfDiskSpace (14031) for ENOSPC, EDQUOT or EFBIG,
FileStreamFailed (39) for another OSError; pymongo raises it as `OperationFailure`. Reads go on.

Test hooks: `FLOWGEN_STAND_IN_DISK_BYTES=N` in the stand-in's environment gives its disk N bytes
(past them, writes fail with ENOSPC) and turns the test commands on; with test commands on
(`--enable-test-commands`, `MongoStandIn(test_commands=True)`),
`{"configureFailPoint": "flowgenDiskFull", "mode": "alwaysOn", "data": {"bytesLeft": N}}` sets
the bytes left and `"mode": "off"` frees the disk.
"""
