"""The kernel factory's preloading (coursegrader.run.zygote): what it learns from a probe kernel, and what it leaves."""

import tempfile


def test_the_probe_kernel_names_the_modules_a_kernel_loads_and_leaves_no_folder(tmp_path, monkeypatch):
    from coursegrader.run import zygote

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the probe makes its sockets' folder
    modules = zygote._modules_a_kernel_loads()
    assert "IPython.extensions.storemagic" in modules and "IPython.core.debugger" in modules
    assert list(tmp_path.iterdir()) == []  # one folder a factory start, left in /tmp before
