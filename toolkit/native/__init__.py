"""The compiled scanners (C, built by pip with the project: ``pip install -e .`` compiles them).

One module per log format, each the inner loop of that format's one scanner; the Python module
that owns the format (``toolkit.queries.mysql_slow``, ``toolkit.queries.pg_stderr``,
``toolkit.http.scanner``) calls it and keeps every rule the C code does not need to know.

- ``toolkit.native.slowlog``: MySQL / MariaDB / Percona slow-log records.
- ``toolkit.native.pgstderr``: PostgreSQL stderr lines under a log_line_prefix.
- ``toolkit.native.accesslog``: access-log lines under a log_format.
"""
