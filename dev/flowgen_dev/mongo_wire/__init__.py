"""A MongoDB stand-in that real pymongo talks to over the wire: mongomock behind the wire
protocol, one lock around every command, and a journal that survives kill -9.

Run it with `python -m flowgen_dev.mongo_server`; start it from Python with
`flowgen_dev.mongo_server.MongoStandIn`.
"""
