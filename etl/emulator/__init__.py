"""The emulated export API of a provincial TTHC system (source-api.md): the demo source and the
test fixture of the pipeline, which never imports it.

`python -m etl emulator --help` lists the options. Modules:
- `catalogue`: the province's agencies (with the 1 July 2025 reorganization) and procedures;
- `generator`: seeded, lazy, per-day generation of dossiers and payments and their rendering
  to the source's JSON (messy spellings, invalid records, unknown references);
- `server`: HTTP (bearer auth, paged feeds, gzip, keep-alive), transient faults and the
  `/_emulator/*` control endpoints (clock, faults, state);
- `pilot`: the paper-free pilot registration file of its world (`--pilot-file`);
- `cli`: `add_arguments(parser)` and `run(args) -> int`.
"""
