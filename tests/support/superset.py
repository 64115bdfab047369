"""Driving Superset from a test: its REST API as a logged-in user, and its dashboard in headless
Chromium over the DevTools protocol (tests/e2e/test_superset.py)."""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import requests

from support.chromium import chromium_command
from support.emulator import free_port

DASHBOARD_SLUG = "dich-vu-cong-truc-tuyen"


class Superset:
    def __init__(self, url: str, admin: tuple[str, str], viewer: tuple[str, str], process, log: Path):
        self.url, self.admin, self.viewer, self.process, self.log = url, admin, viewer, process, log

    def api(self, user: tuple[str, str] | None = None) -> requests.Session:
        """A session logged in through /api/v1/security/login (JWT) with a CSRF token."""
        session = requests.Session()
        name, password = user or self.admin
        login = session.post(f"{self.url}/api/v1/security/login", timeout=60, json={
            "username": name, "password": password, "provider": "db", "refresh": False,
        })
        login.raise_for_status()
        session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        csrf = session.get(f"{self.url}/api/v1/security/csrf_token/", timeout=60)
        csrf.raise_for_status()
        session.headers.update({"X-CSRFToken": csrf.json()["result"], "Referer": self.url})
        return session

    def web_session_cookie(self) -> str:
        """The `session` cookie of a browser login through the login form."""
        session = requests.Session()
        page = session.get(f"{self.url}/login/", timeout=60)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
            r'csrf_token[^>]*value="([^"]+)"', page.text)
        assert token, "no CSRF token on the login page"
        done = session.post(f"{self.url}/login/", allow_redirects=False, timeout=60, data={
            "username": self.admin[0], "password": self.admin[1], "csrf_token": token.group(1),
        })
        assert done.status_code in (302, 303), done.text[:500]
        return session.cookies["session"]


def cdp_screenshot(url: str, cookie: str, path: Path, charts_expected: int, labels: list[str],
                   timeout: float = 240) -> dict:
    """Headless Chromium (network blocked but for loopback) driven over its DevTools protocol:
    set the login cookie, open the dashboard, wait for every chart, write a PNG."""
    from websockets.sync.client import connect

    port = free_port()
    profile = path.parent / f".chromium-{port}"
    # Any name lookup fails but loopback's: nothing is fetched from outside this machine.
    command = chromium_command(f"--remote-debugging-port={port}", "--window-size=1600,2300", "about:blank",
                               profile=profile, allow_loopback=True)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                pages = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        target = next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"]
        with connect(target, max_size=None) as socket:
            counter = [0]

            def call(method: str, **params):
                counter[0] += 1
                socket.send(json.dumps({"id": counter[0], "method": method, "params": params}))
                while True:
                    message = json.loads(socket.recv(timeout=120))
                    if message.get("id") == counter[0]:
                        assert "error" not in message, message
                        return message["result"]

            call("Network.enable")
            call("Network.setCookie", name="session", value=cookie, url=url)
            call("Emulation.setDeviceMetricsOverride", width=1600, height=2300, deviceScaleFactor=1,
                 mobile=False)
            call("Page.navigate", url=f"{url}/superset/dashboard/{DASHBOARD_SLUG}/?standalone=1")
            probe = """((labels) => {
              const holders = [...document.querySelectorAll('.dashboard-component-chart-holder')];
              return JSON.stringify({
                charts: holders.length,
                drawn: holders.filter(h => h.querySelector('canvas, table tbody tr')).length,
                loading: document.querySelectorAll('.loading').length,
                errors: document.querySelectorAll('.alert-danger, [role="alert"].ant-alert-error').length,
                title: document.title,
                missing: labels.filter(l => !document.body.innerText.includes(l)),
                text: document.body.innerText.slice(0, 2000),
              }) })(""" + json.dumps(labels) + ")"
            state: dict = {}
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                result = call("Runtime.evaluate", expression=probe, returnByValue=True)["result"]
                if "value" in result:
                    state = json.loads(result["value"])
                    if state["drawn"] >= charts_expected and state["loading"] == 0:
                        break
                time.sleep(1)
            time.sleep(2)  # the charts' entry animations
            shot = call("Page.captureScreenshot", format="png")
            path.write_bytes(base64.b64decode(shot["data"]))
            return state
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        shutil.rmtree(profile, ignore_errors=True)
