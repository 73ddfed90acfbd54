"""Developer tooling: the Docker-free local stack, a local identity provider and a fake
OpenAI-compatible model server. Not part of the Lambda layer."""
