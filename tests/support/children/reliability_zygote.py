"""A pre-loaded parent for `python -m etl run` processes that tests SIGKILL (issue 6, crashes).

`python -m etl run` spends most of a short run importing Great Expectations and pandas. To kill
runs at dozens of points within the suite's time budget, this process imports them once and then
forks one child per request; the child runs exactly what `python -m etl` runs (`etl.cli.main`)
with the given argv and environment, in its own process, and is killed by its PID.

Protocol (one JSON object per line on stdin, one reply per line on stdout):
  {"run": [argv...], "env": {...}, "out": "/path/prefix"}  -> {"pid": N}
  {"poll": N}                                               -> {"status": exit code | null}
  {"wait": N}                                               -> {"status": exit code}
A status of -9 means killed by SIGKILL.
"""
from __future__ import annotations

import json
import os
import sys


def _status(raw: int) -> int:
    if os.WIFSIGNALED(raw):
        return -os.WTERMSIG(raw)
    return os.WEXITSTATUS(raw)


def main() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    # The heavy imports a run would do, done once here (no threads, no DuckDB connection yet).
    import duckdb  # noqa: F401
    import great_expectations  # noqa: F401
    import pandas  # noqa: F401

    from etl import cli, kpi, landing, load, pipeline, publish, source, standardize, validation  # noqa: F401

    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if "run" in request:
            pid = os.fork()
            if pid == 0:  # the child: one `python -m etl` invocation
                code = 1
                try:
                    os.environ.clear()
                    os.environ.update(request["env"])
                    out = request["out"]
                    for fd, suffix in ((1, ".stdout"), (2, ".stderr")):
                        handle = os.open(out + suffix, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                        os.dup2(handle, fd)
                        os.close(handle)
                    sys.stdin.close()
                    code = cli.main(request["run"])
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code if isinstance(code, int) else 1)
            reply = {"pid": pid}
        elif "poll" in request:
            done, raw = os.waitpid(request["poll"], os.WNOHANG)
            reply = {"status": _status(raw) if done else None}
        elif "wait" in request:
            _, raw = os.waitpid(request["wait"], 0)
            reply = {"status": _status(raw)}
        else:
            reply = {"error": f"unknown request {request!r}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
