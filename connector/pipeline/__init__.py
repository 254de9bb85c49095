"""The connector's pipeline: validate → pseudonymise → minimise → Parquet → signed manifest
→ upload.

Stages are plain functions and small classes so that they stream: memory depends on the
batch size, never on the input size.
"""
