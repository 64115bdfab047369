-- reads: nothing
-- writes: drops the load's work tables and macro (load_*)
-- The work tables die with the connection anyway; dropping them keeps a reused connection clean.
-- Inside an open transaction (a multi-chunk run) DuckDB keeps a dropped table until the commit,
-- for a rollback: its blocks are spilled to the temp directory, not freed (docs/ARCHITECTURE.md).
DROP VIEW IF EXISTS load_landed;
DROP TABLE IF EXISTS load_dossier;
DROP TABLE IF EXISTS load_payment;
DROP TABLE IF EXISTS load_agency;
DROP TABLE IF EXISTS load_procedure;
DROP TABLE IF EXISTS load_pilot;
DROP TABLE IF EXISTS load_pilot_read;
DROP TABLE IF EXISTS load_pilot_incoming;
DROP TABLE IF EXISTS load_pilot_match;
DROP TABLE IF EXISTS load_window;
DROP TABLE IF EXISTS load_validation;
DROP TABLE IF EXISTS load_count;
DROP TABLE IF EXISTS load_problem;
DROP TABLE IF EXISTS load_agency_changed;
DROP TABLE IF EXISTS load_procedure_ref;
DROP TABLE IF EXISTS load_procedure_completion;
DROP TABLE IF EXISTS load_procedure_changed;
DROP TABLE IF EXISTS load_procedure_changed_code;
DROP TABLE IF EXISTS load_procedure_overlap;
DROP TABLE IF EXISTS load_dossier_applied;
DROP TABLE IF EXISTS load_payment_applied;
DROP TABLE IF EXISTS load_touched_date;
DROP TABLE IF EXISTS load_dirty_period;
DROP MACRO IF EXISTS load_date_key;
