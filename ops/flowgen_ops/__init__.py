"""The operator tool: `flowgen status`, `retry-failed`, `redrive` (and `smoke`, `preflight`).

It runs against a deployment (AWS credentials, `MONGO_URI`, `--stack-name`) or a running local
stack (its `.flowgen/stack.json`), and imports only the layer (`flowgen`) and the clients the
layer already ships with (boto3, pymongo, redis): nothing of the local stack, the planner or the
fault harness. `flowgen` commands of the developer tools (`local`, `demo`, `capacity`, ...) are
plugins, found through the `flowgen.commands` entry points and imported only when run.
"""
