"""Running one submission's notebook: in a bubblewrap sandbox, bounded, watched, cell by cell.

- ``sandbox``: the bubblewrap command line, its limits, and whether a sandbox can start here;
- ``watchdog``, ``processes``: what a running sandbox's processes use, and stopping them all;
- ``kernel``, ``provisioner``, ``factory``, ``zygote``: the kernel in its sandbox, started afresh or
  forked from a process that imported the kernel and the labs' libraries once;
- ``kernelclient``: connecting to a fresh kernel without sitting idle;
- ``executor``: the cell loop, with time limits, output budgets and what test cells hand over
  (``handovers``, ``outputs``).
"""
