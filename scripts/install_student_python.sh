#!/usr/bin/env bash
# The interpreter the end-to-end test's student accounts run nbgrader with (`make student-python`).
#
# Students run `nbgrader fetch_assignment`, `submit` and `fetch_feedback` as themselves. The project's
# interpreter lives under /root, which other accounts cannot enter, so they get their own: a venv of
# Debian's python3 (/usr/bin/python3, 3.11.2 on Debian 12) with nbgrader at the project's pinned
# versions, in a folder every account can read and none can write. constraints.txt pins soupsieve
# 4.1.3, which needs Python >= 3.11.5: this venv takes every other pin as it is and soupsieve at
# SOUPSIEVE below, the newest release that installs on 3.11.2.
#
# Built once and kept: rebuilt only when a package it holds is no longer at its pinned version
# (scripts/student_python_current.py). Needs root (it writes under /opt), python3-venv (scripts/install_system_deps.sh) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${COURSEKIT_STUDENT_PYTHON:-/opt/coursekit-student-python}
if [ "$(id -u)" -ne 0 ]; then
  echo "install_student_python: not root, skipped (the end-to-end test that needs it makes Unix accounts: root only)"
  exit 0
fi
SOUPSIEVE=2.10
NBGRADER=$(grep -i '^nbgrader==' constraints.txt)
pins=$(mktemp)
trap 'rm -f "$pins"' EXIT
grep -v -i '^soupsieve==' constraints.txt > "$pins"
echo "soupsieve==$SOUPSIEVE" >> "$pins"
# rfc3987-syntax (from jupyter-events' jsonschema[format-nongpl]) builds a lark grammar at every import of
# jsonschema, 1.3 s of CPU in each nbgrader command a student runs; jsonschema treats it as optional. Left out
# here as `make venv` leaves it out of the project's environment.
LEFT_OUT="rfc3987-syntax lark"
if [ -x "$TARGET/bin/python" ] && "$TARGET/bin/python" scripts/student_python_current.py "$pins"; then
  "$TARGET/bin/python" -m pip uninstall --quiet --yes $LEFT_OUT 2>/dev/null || true
  exit 0
fi
echo "building the student accounts' interpreter in $TARGET (Debian's python3 and $NBGRADER)"
rm -rf "$TARGET.partial"
umask 022
/usr/bin/python3 -m venv "$TARGET.partial"
"$TARGET.partial/bin/python" -m pip install --quiet --disable-pip-version-check -c "$pins" "$NBGRADER" 2>&1 \
  | { grep -v "is ignored: it is neither a file nor a directory" || true; }
"$TARGET.partial/bin/python" -m pip uninstall --quiet --yes $LEFT_OUT
"$TARGET.partial/bin/python" -m pip check >/dev/null
# a venv records its own path in its scripts: build it aside, then move it into place and point them there
rm -rf "$TARGET"
mv "$TARGET.partial" "$TARGET"
grep -rlI --null "$TARGET.partial" "$TARGET/bin" | xargs -0 -r sed -i "s#$TARGET.partial#$TARGET#g"
chmod -R a+rX,go-w "$TARGET"
"$TARGET/bin/nbgrader" --version >/dev/null
