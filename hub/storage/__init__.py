"""Object storage for the lake: the ``ObjectStore`` port, a local-directory and an S3 adapter."""
