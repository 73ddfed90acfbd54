"""Adapters: the only modules that import boto3, pymongo, redis, openai or jwt."""
