"""Research sandbox: researchers' SQL on DuckDB, locked down, with safe outputs.

Flow: ``sqlcheck`` parses and vets the SQL with DuckDB's own parser, ``scope`` and
``views`` build the project's named views over the lake (local, or S3 via ``s3lake``),
``authorize`` asks the policy engine (query, then release), ``worker`` runs the query in a
locked-down child process; ``dp`` releases its results at once under differential
privacy (noise, privacy budget), or ``airlock`` holds exact results until two output
checkers approve them; ``jobs`` records everything (job table and audit trail).
"""
