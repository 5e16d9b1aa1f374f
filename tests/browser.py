"""A real Jupyter server on loopback and Debian's Chromium, driven by Playwright: for the tests that look
at what students and graders see in a browser.

Chromium comes from Debian (scripts/install_system_deps.sh); Playwright drives it and downloads no
browser. The server runs from this environment with its own config, data and runtime folders, so
nothing of ~/.jupyter changes what it does.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# The machine reaches no web beyond package registries: these keep Chromium from trying.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class JupyterServer:
    """``jupyter lab`` (or ``jupyter server``) from this environment on 127.0.0.1, with a token."""

    def __init__(self, root_dir: Path, workdir: Path, app: str = "lab", extra_args: tuple[str, ...] = (),
                 env: dict[str, str] | None = None):
        self.root_dir, self.workdir, self.app = Path(root_dir), Path(workdir), app
        self.extra_args, self.extra_env = tuple(extra_args), dict(env or {})
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> JupyterServer:
        """Start the server, unless ``start()`` did already (in the background, say): a second one would find the
        port taken and end, while the first answered for it and was never stopped."""
        return self if self.process is not None else self.start()

    def start(self) -> JupyterServer:
        """Start the server and wait until it answers."""
        env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "NBGRADER_DB_URL")}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                     "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
            folder = self.workdir / name.lower()
            folder.mkdir(parents=True, exist_ok=True)
            env[name] = str(folder)
        env.update(self.extra_env)
        command = [sys.executable, "-m", "jupyter", self.app, "--no-browser", "--allow-root",
                   "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root_dir}"]
        if self.app == "lab":
            command += ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        command += self.extra_args
        self.log = (self.workdir / "server.log").open("wb")
        self.process = subprocess.Popen(command, cwd=self.root_dir, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited: {(self.workdir / 'server.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                self.request("GET", "/api/status")
                return self
            time.sleep(0.25)
        raise RuntimeError(f"jupyter {self.app} did not answer: {(self.workdir / 'server.log').read_text()[-2000:]}")

    def request(self, method: str, path: str, body: dict | None = None) -> object:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    def fetch(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """GET ``path`` with the token: its status, headers and body, whatever the status."""
        request = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def log_text(self) -> str:
        self.log.flush()
        return (self.workdir / "server.log").read_text(errors="replace")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@contextlib.contextmanager
def chromium_page(timeout_seconds: float = 60):
    """A page of headless Chromium, with a default timeout."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            # a context of its own (not browser.new_page's), so that a test can open more tabs in it
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(timeout_seconds * 1000)
            yield page
        finally:
            browser.close()


LOOPBACK = ("http://127.0.0.1:", "http://localhost:", "file://", "data:", "blob:", "about:")


@dataclass
class PageWatch:
    """What a page did that it should not: dialogs it opened, requests beyond this machine (aborted, so the
    tests never reach the web). Requests to loopback go through, for a local listener to count."""

    dialogs: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)

    def attach(self, page) -> PageWatch:
        page.on("dialog", self._dialog)
        page.route("**/*", self._route)
        return self

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _route(self, route) -> None:
        if route.request.url.startswith(LOOPBACK):
            route.continue_()
        else:
            self.remote_requests.append(route.request.url)
            route.abort()
