#!/usr/bin/env bash
# The Debian packages the course's tooling runs: bubblewrap (bwrap), the sandbox every submission is
# graded in; util-linux (prlimit, setpriv), which Debian always has; postgresql, the shared gradebook
# of `course autograde --scheduler` (the suite starts a throwaway server with initdb and pg_ctl);
# chromium, the browser the suite's browser tests drive with Playwright (it downloads none); passwd
# (useradd), util-linux (runuser) and python3-venv, for the student accounts of course watch's
# end-to-end test (scripts/install_student_python.sh builds their interpreter).
# Installs only what is missing.
# Run by `make test` / `make demo` (and so by CI) on a fresh machine; needs root, or sudo.
set -euo pipefail
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# course watch's end-to-end test: student accounts (useradd, runuser) running Debian's python3 in a venv
command -v useradd >/dev/null 2>&1 || missing+=(passwd)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
/usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then as_root=(); elif command -v sudo >/dev/null 2>&1; then as_root=(sudo); else
  echo "install_system_deps: ${missing[*]} missing, and neither root nor sudo to install them (apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
