"""A source that costs (almost) nothing: a caching proxy in front of the emulator.

The emulator generates every page in Python (~0.2 s per day of a small city, whatever its
volume), so against it a small city's LIMIT baseline is bound by the emulator, not by the
client, and a pipeline's fixed costs hide behind it. A provincial system (or an independent
server honouring source-api.md) answers far faster. The replay source forwards each distinct GET
to the emulator once, keeps the body in memory, and serves every later identical GET from there:
after an untimed warm-up pass the timed passes measure the client alone. It checks the bearer
token like the source does and serves identity encoding (the pipeline asks for none on loopback).
It runs in a process of its own, like the emulator, so its CPU is not charged to the client.

`python -m bench.replay UPSTREAM_URL` (token from $TTHC_API_TOKEN) prints its URL when ready.
"""
from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading

from bench import REPO_ROOT, RunningEmulator, free_port


def serve(upstream: str, token: str, port: int) -> None:
    import requests

    cache: dict[str, tuple[int, bytes]] = {}
    lock = threading.Lock()
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"})

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the emulator

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.headers.get("Authorization") != f"Bearer {token}":
                return self._send(401, b'{"loi": "unauthorized"}')
            hit = cache.get(self.path)
            if hit is None:
                with lock:  # one upstream request at a time: the emulator is one process anyway
                    response = session.get(upstream + self.path, timeout=600)
                hit = (response.status_code, response.content)
                if response.status_code == 200:
                    cache[self.path] = hit
            self._send(*hit)

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"replay of {upstream} ready at http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


def start_replay(upstream: RunningEmulator) -> RunningEmulator:
    """The replay source in front of `upstream`, as a process; stop it like the emulator."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.replay", upstream.url, str(port)], cwd=REPO_ROOT,
        env={**os.environ, "TTHC_API_TOKEN": upstream.token}, stdout=subprocess.PIPE, text=True,
    )
    replay = RunningEmulator(f"http://127.0.0.1:{port}", upstream.token, process)
    line = process.stdout.readline()
    if replay.url not in line:
        replay.stop()
        raise RuntimeError(f"replay source did not start: {line!r}")
    return replay


if __name__ == "__main__":
    serve(sys.argv[1], os.environ["TTHC_API_TOKEN"], int(sys.argv[2]))
