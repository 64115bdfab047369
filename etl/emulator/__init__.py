"""The emulated export API of a provincial TTHC system (source-api.md): the demo source and the
test fixture of the pipeline, which never imports it.

`python -m etl emulator --help` lists the options. Modules:
- `catalogue`: the province's agencies (with the 1 July 2025 reorganization) and procedures;
- `generator`: the source as the server sees it: days generated lazily and cached, feed windows,
  their pages, the reference lists;
- `workdays`: working days (the public holidays of core.dim_date) and office hours;
- `days`: the seeded numpy draws of one submission day's dossiers and payments;
- `vocabulary`: the values the source writes and the word lists applicants are named from;
- `spelling`, `render`: the renderer, column-wise, to the source's JSON (messy spellings,
  invalid records, unknown references); `references`: the reference lists' spellings;
- `windows`: the records of a feed window, in feed order;
- `server`: HTTP (bearer auth, paged feeds, gzip, keep-alive), transient faults and the
  `/_emulator/*` control endpoints (clock, faults, state);
- `pilot`: the paper-free pilot registration file of its world (`--pilot-file`);
- `cli`: `add_arguments(parser)` and `run(args) -> int`.
"""
