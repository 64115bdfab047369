-- reads: nothing
-- writes: audit.view_stamp
-- Where etl/kpi.py ensure_views keeps the fingerprint of each mart view's definition and of the
-- mart's comments (sql/marts/comments.sql), so that a rebuild that changes neither issues no DDL
-- (decisions 0031, 0051). The views used to carry it as their COMMENT, which is now their
-- documentation for BI tools. Beside audit.schema_version, its like: which definitions the
-- warehouse holds. name: a mart view, or `marts/comments.sql`; stamp: the file that defines it
-- and a hash of that file with the migrations. Empty after this migration, so the next rebuild
-- re-creates every view once and documents the mart. No key: ensure_views deletes a name's row
-- before it inserts the new one, and a warehouse copied table by table keeps working.
CREATE TABLE IF NOT EXISTS audit.view_stamp (
    name   VARCHAR NOT NULL,
    stamp  VARCHAR NOT NULL
);
