"""A MongoDB stand-in that real pymongo talks to over the wire: mongomock behind the wire
protocol, one lock around every command, and a journal that survives kill -9.

Run it with `python -m flowgen_stand_in`; start it from Python with
`flowgen_stand_in.launcher.MongoStandIn`. Local runs and tests use it where no MongoDB server can
be installed; `MONGO_URI` replaces it with a real one.
"""
