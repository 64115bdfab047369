"""Scripts the tests start as child processes (`python tests/support/children/NAME.py …`).

Kept in a folder of their own: a script's folder is the first entry of its sys.path, so nothing
here may be named like a module that the child imports (airflow, etl, duckdb, …).
"""
