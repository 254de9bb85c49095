"""Research sandbox: researchers' SQL on DuckDB, locked down, with output disclosure control.

Flow: ``sqlcheck`` parses and vets the SQL with DuckDB's own parser, ``scope`` and
``views`` build the project's named views over the lake (local, or S3 via ``s3lake``),
``authorize`` asks the policy engine (query, then release), ``worker`` runs the query in a
locked-down child process, ``disclosure`` releases only cells that pass statistical
disclosure control, and ``jobs`` records everything (job table and audit trail).
"""
