"""Regenerate tests/examples/16-permutation-equivariance/class/jupyterlab_saved/demo.ipynb: a submission saved by JupyterLab.

The example is the complete solution notebook (tests/examples/16-permutation-equivariance/class/solution/demo.ipynb) run
in a real JupyterLab session and saved by JupyterLab itself, so it carries what JupyterLab writes
and a hand-made or nbconvert-made notebook does not: the outputs and execution counts of every code
cell, the kernel's full `language_info`, and whatever else the web UI's save puts in the file (it
saves through the Jupyter server's contents API, PUT /api/contents/<path>).

How: the script starts `jupyter lab` from the project's .venv, headless, on 127.0.0.1 with a random
free port and a random token, its root_dir a fresh temporary folder holding a copy of the input as
demo.ipynb (the Jupyter config, data, runtime, settings and workspace folders and IPYTHONDIR are
temporary too, so nothing in ~/.jupyter or ~/.ipython changes the result). It then drives the
JupyterLab web UI with Playwright in Chromium: opens the notebook, waits for the kernel, clicks
"Run > Run All Cells", waits until every code cell shows an execution count and the kernel is idle,
saves with Ctrl+S, waits until the file on disk holds the outputs, checks it, copies it to the
output path and shuts the server down. The notebook writes manifest.json and demo_output.txt
beside itself while it runs: they stay in the temporary folder, which is removed at the end
(--keep-temp keeps it). Any step that does not happen in time exits non-zero with a message.

Needs:
  - the project's .venv (`make venv`), which has jupyterlab, jupyter_server, ipykernel and the
    packages the notebook imports; the kernel is that venv's python (its bin/ comes first on the
    PATH the server and kernel get);
  - a Chromium: Debian's `apt-get install -y chromium` gives /usr/bin/chromium (--chromium to
    use another);
  - the Python package `playwright` in the Python that runs this script (the .venv has it, from the
    `test` extra). No `playwright install` is needed: the script uses the system Chromium.

Run (from the repository root):

    .venv/bin/python scripts/save_through_jupyterlab.py [INPUT.ipynb] [OUTPUT.ipynb]

INPUT defaults to tests/examples/16-permutation-equivariance/class/solution/demo.ipynb and OUTPUT to
tests/examples/16-permutation-equivariance/class/jupyterlab_saved/demo.ipynb. Options: --venv, --chromium, --timeout
(seconds for each wait), --keep-temp, --headed (needs a display). The result differs from run to
run only where the notebook's own output does (the manifest's date) and in JupyterLab's own
bookkeeping, if any.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = REPO / "tests" / "examples" / "16-permutation-equivariance" / "class" / "solution" / "demo.ipynb"
DEFAULT_OUTPUT = REPO / "tests" / "examples" / "16-permutation-equivariance" / "class" / "jupyterlab_saved" / "demo.ipynb"
DEFAULT_VENV = REPO / ".venv"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
NOTEBOOK_NAME = "demo.ipynb"

# The machine reaches no web beyond package registries: these keep Chromium from trying.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class StepFailed(RuntimeError):
    """A step did not happen: the message says which."""


def say(message: str) -> None:
    print(f"[save_through_jupyterlab] {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, predicate, timeout: float, interval: float = 0.25):
    """Poll predicate() until it returns something truthy; StepFailed after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except StepFailed:
            raise
        except Exception as error:  # noqa: BLE001 - keep polling, report the last error
            last_error = error
            value = None
        if value:
            return value
        time.sleep(interval)
    detail = f" (last error: {last_error!r})" if last_error else ""
    raise StepFailed(f"timed out after {timeout:.0f} s waiting for {what}{detail}")


class JupyterLabServer:
    """`jupyter lab` from the venv, headless, on 127.0.0.1:<free port> with a token."""

    def __init__(self, venv: Path, workdir: Path, root_dir: Path):
        self.venv = venv
        self.workdir = workdir
        self.root_dir = root_dir
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "jupyter-lab.log"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [
            str(self.venv / "bin" / "jupyter"),
            "lab",
            "--no-browser",
            "--allow-root",  # harmless when not root; CI and these machines run as root
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            # no fetching of news or update checks: there is no internet here
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        env.pop("PYTHONHOME", None)
        env.pop("PYTHONPATH", None)
        for name, folder in [
            ("JUPYTER_CONFIG_DIR", "jupyter-config"),
            ("JUPYTER_DATA_DIR", "jupyter-data"),
            ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
            ("JUPYTERLAB_SETTINGS_DIR", "lab-user-settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
            ("IPYTHONDIR", "ipython"),
        ]:
            path = self.workdir / folder
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        return env

    def start(self, timeout: float) -> None:
        command = self.command()
        shown = [part.replace(self.token, "<token>") for part in command]
        say(f"starting: PATH={self.venv / 'bin'}:$PATH {' '.join(shown)}")
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            command,
            cwd=self.root_dir,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def up():
            if self.process.poll() is not None:
                raise StepFailed(
                    f"jupyter lab exited with code {self.process.returncode} before it served:\n"
                    + self.log_tail()
                )
            return self.api("GET", "/api/status", timeout=2)

        try:
            status = wait_for("the Jupyter server to answer /api/status", up, timeout)
        except StepFailed as error:
            raise StepFailed(f"{error}\n{self.log_tail()}") from None
        say(f"server up at {self.base_url} (pid {self.process.pid}): {json.dumps(status)}")

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 10):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else {}

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        text = text.replace(self.token, "<token>")
        return "--- jupyter lab log (last lines) ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        say("shutting the server down (POST /api/shutdown)")
        try:
            self.api("POST", "/api/shutdown", timeout=5)
        except (urllib.error.URLError, OSError, ValueError) as error:
            say(f"POST /api/shutdown failed ({error!r}); terminating pid {self.process.pid}")
            self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            say(f"server pid {self.process.pid} still running after 20 s; killing it")
            self.process.kill()
            self.process.wait(timeout=10)
        say(f"server exited with code {self.process.returncode}")


# --- the JupyterLab web UI ----------------------------------------------------------------------

# One entry per code cell of the open notebook: the text of its input prompt ("[ ]:", "[*]:",
# "[3]:"). With the default windowing mode (contentVisibility) every cell stays in the DOM.
PROMPTS_JS = """
() => Array.from(
  document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell')
).map(cell => {
  const prompt = cell.querySelector('.jp-InputArea-prompt');
  return prompt ? prompt.textContent.trim() : '';
})
"""

DIALOG_JS = """
() => Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.innerText.trim())
"""


def fail_on_dialog(page) -> None:
    dialogs = page.evaluate(DIALOG_JS)
    if dialogs:
        raise StepFailed("JupyterLab shows a dialog nobody asked for:\n" + "\n---\n".join(dialogs))


def kernel_status(server: JupyterLabServer) -> str | None:
    """The execution_state of the notebook's kernel, from the server's sessions API."""
    for session in server.api("GET", "/api/sessions"):
        if session.get("path") == NOTEBOOK_NAME and session.get("kernel"):
            return session["kernel"].get("execution_state")
    return None


def drive_jupyterlab(server: JupyterLabServer, chromium: str, n_code_cells: int,
                     timeout: float, headed: bool) -> None:
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise StepFailed(
            f"the Python running this script ({sys.executable}) has no `playwright`: run it with the "
            "project's venv (`make venv` installs it): `.venv/bin/python scripts/save_through_jupyterlab.py`"
        ) from None

    saved_path = server.root_dir / NOTEBOOK_NAME
    mtime_before = saved_path.stat().st_mtime_ns
    args = [arg for arg in CHROMIUM_ARGS if not (headed and arg == "--headless")]
    with sync_playwright() as playwright:
        say(f"launching {chromium} {' '.join(args)}")
        try:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=not headed, args=args, timeout=timeout * 1000
            )
        except PlaywrightError as error:
            raise StepFailed(f"could not launch Chromium at {chromium}: {error}") from None
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(timeout * 1000)
            console_errors: list[str] = []
            page.on(
                "console",
                lambda msg: console_errors.append(msg.text) if msg.type == "error" else None,
            )

            url = f"{server.base_url}/lab/tree/{NOTEBOOK_NAME}"
            say(f"opening {url} in JupyterLab")
            page.goto(f"{url}?token={server.token}", wait_until="domcontentloaded")

            try:
                page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", state="visible")
            except PlaywrightError:
                raise StepFailed(
                    f"JupyterLab did not show the notebook within {timeout:.0f} s; "
                    f"browser console errors: {console_errors[-5:]}"
                ) from None
            wait_for(
                f"the notebook to show its {n_code_cells} code cells",
                lambda: len(page.evaluate(PROMPTS_JS)) == n_code_cells,
                timeout,
            )
            say(f"notebook open: {n_code_cells} code cells")
            fail_on_dialog(page)

            wait_for("the notebook's kernel to start and be idle",
                     lambda: kernel_status(server) == "idle", timeout)
            # the UI's own kernel indicator: the status bar reads "<kernel> | Idle"
            page.get_by_text(re.compile(r"\|\s*Idle")).first.wait_for(state="visible")
            say("kernel idle")
            fail_on_dialog(page)

            say("clicking Run > Run All Cells")
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()

            counted = re.compile(r"^\[\d+\]:$")
            stalled_polls = [0]

            def all_counted_and_idle():
                fail_on_dialog(page)
                prompts = page.evaluate(PROMPTS_JS)
                done = len(prompts) == n_code_cells and all(counted.match(p) for p in prompts)
                idle = kernel_status(server) == "idle"
                # Run All marks every queued cell "[*]"; idle with none queued and some cells
                # uncounted means the run stopped (a cell raised): fail now, not at the timeout.
                if idle and not done and "[*]:" not in prompts:
                    stalled_polls[0] += 1
                    if stalled_polls[0] >= 12:
                        first = next(i for i, p in enumerate(prompts) if not counted.match(p))
                        raise StepFailed(
                            f"Run All Cells stopped: the kernel is idle but code cell {first} "
                            f"(0-based among code cells) shows {prompts[first]!r}; did a cell before it "
                            f"raise? prompts: {prompts}"
                        )
                else:
                    stalled_polls[0] = 0
                return done and idle and prompts

            prompts = wait_for("every code cell to get an execution count, kernel idle",
                               all_counted_and_idle, timeout)
            say(f"all {n_code_cells} code cells ran; prompts {prompts[0]} .. {prompts[-1]}")

            say("saving with Ctrl+S")
            page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.focus()
            page.keyboard.press("Control+s")

            def saved():
                fail_on_dialog(page)
                if saved_path.stat().st_mtime_ns == mtime_before:
                    return False
                notebook = json.loads(saved_path.read_text(encoding="utf-8"))
                code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
                if not all(c.get("execution_count") for c in code):
                    return False
                dirty = page.locator(".lm-TabBar-tab.jp-mod-dirty").count()
                return dirty == 0

            wait_for(f"JupyterLab to save {NOTEBOOK_NAME} with its outputs", saved, timeout)
            say(f"JupyterLab saved {saved_path}")
            if console_errors:
                say(f"note: the browser console logged {len(console_errors)} error(s); "
                    f"last: {console_errors[-1][:200]}")
        finally:
            browser.close()


# --- checks on the saved notebook ---------------------------------------------------------------

def check_saved(saved: dict, original: dict, venv: Path, path: Path) -> None:
    problems = []
    if len(saved["cells"]) != len(original["cells"]):
        problems.append(f"{len(saved['cells'])} cells saved, {len(original['cells'])} in the input")
    self_checks = 0
    for index, (new, old) in enumerate(zip(saved["cells"], original["cells"])):
        where = f"cell {index} ({old.get('metadata', {}).get('nbgrader', {}).get('grade_id')})"
        if new["cell_type"] != old["cell_type"] or new.get("source") != old.get("source"):
            problems.append(f"{where}: type or source changed")
        if new.get("metadata", {}).get("nbgrader") != old.get("metadata", {}).get("nbgrader"):
            problems.append(f"{where}: nbgrader metadata changed")
        if new["cell_type"] != "code":
            continue
        if not new.get("execution_count"):
            problems.append(f"{where}: no execution count")
        text = "".join(
            "".join(out.get("text", "")) for out in new.get("outputs", []) if out.get("output_type") == "stream"
        )
        if any(out.get("output_type") == "error" for out in new.get("outputs", [])):
            problems.append(f"{where}: an error output")
        source = "".join(new["source"]) if isinstance(new["source"], list) else new["source"]
        if source.startswith("# Self-check"):
            self_checks += 1
            if "✔ passed" not in text:
                problems.append(f"{where}: self-check output lacks '✔ passed': {text.strip()[:200]!r}")
    if self_checks == 0:
        problems.append("no self-check cells found")
    validate = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4)); print('ok')",
         str(path)],
        capture_output=True, text=True,
    )
    if validate.returncode != 0:
        problems.append(f"nbformat.validate failed: {validate.stderr.strip()[-500:]}")
    if problems:
        raise StepFailed("the saved notebook fails its checks:\n  " + "\n  ".join(problems))
    say(f"checks passed: nbformat-valid, every code cell ran, nbgrader metadata unchanged, "
        f"{self_checks} self-checks print '✔ passed'")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", nargs="?", type=Path, default=DEFAULT_INPUT,
                        help=f"notebook to run (default: {DEFAULT_INPUT.relative_to(REPO)})")
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT,
                        help=f"where to write JupyterLab's saved copy (default: {DEFAULT_OUTPUT.relative_to(REPO)})")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                        help="venv with jupyterlab and the notebook's packages (default: .venv)")
    parser.add_argument("--chromium", default=DEFAULT_CHROMIUM, help="Chromium executable")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for each wait")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary root_dir")
    parser.add_argument("--headed", action="store_true", help="show the browser (needs a display)")
    args = parser.parse_args(argv)

    input_path = args.input.resolve()
    output_path = args.output.resolve()
    venv = args.venv.resolve()
    for needed, what in [(input_path, "input notebook"), (venv / "bin" / "jupyter", "jupyter in the venv"),
                         (Path(args.chromium), "Chromium")]:
        if not needed.exists():
            say(f"error: no {what} at {needed}")
            return 2
    original = json.loads(input_path.read_text(encoding="utf-8"))
    n_code_cells = sum(cell["cell_type"] == "code" for cell in original["cells"])

    workdir = Path(tempfile.mkdtemp(prefix="save-through-jupyterlab-"))
    root_dir = workdir / "root"
    root_dir.mkdir()
    shutil.copyfile(input_path, root_dir / NOTEBOOK_NAME)
    say(f"copied {input_path} to the server root {root_dir / NOTEBOOK_NAME}")

    server = JupyterLabServer(venv, workdir, root_dir)
    try:
        server.start(args.timeout)
        drive_jupyterlab(server, args.chromium, n_code_cells, args.timeout, args.headed)
        saved_path = root_dir / NOTEBOOK_NAME
        saved = json.loads(saved_path.read_text(encoding="utf-8"))
        check_saved(saved, original, venv, saved_path)
        output_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(saved_path, output_path)
        say(f"wrote {output_path}")
        left = sorted(p.name for p in root_dir.iterdir() if p.name != NOTEBOOK_NAME)
        say(f"also written by the notebook in the server root (not copied): {', '.join(left)}")
    except StepFailed as error:
        say(f"FAILED: {error}")
        return 1
    finally:
        server.stop()
        if args.keep_temp:
            say(f"kept the temporary folder {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
