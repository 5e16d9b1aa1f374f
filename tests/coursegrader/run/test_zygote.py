"""The kernel factory's preloading (coursegrader.run.zygote): what it learns from a probe kernel, and what it leaves."""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = """
import json, sys, tempfile
tempfile.tempdir = sys.argv[1]  # where the probe makes its sockets' folder
from coursegrader.run import zygote
print(json.dumps(zygote._modules_a_kernel_loads()))
"""


def test_the_probe_kernel_names_the_modules_a_kernel_loads_and_leaves_no_folder():
    # in a new interpreter, as the factory runs it: a process that imported IPython already learns nothing new;
    # in a folder of /tmp: the probe's socket paths must fit a Unix socket's 107 bytes, which pytest's
    # folders under xdist need not
    folder = Path(tempfile.mkdtemp(prefix="probe-", dir="/tmp"))
    try:
        found = subprocess.run([sys.executable, "-c", PROBE, str(folder)], capture_output=True, text=True, check=True)
        modules = json.loads(found.stdout)
        assert "IPython.extensions.storemagic" in modules and "IPython.core.debugger" in modules
        assert list(folder.iterdir()) == []  # one folder a factory start, left in /tmp before
    finally:
        shutil.rmtree(folder)
