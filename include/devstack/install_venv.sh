#!/usr/bin/env bash
# `make install`: the virtualenv with Pulse's Python packages, saying what it does and how long it took.
#   install_venv.sh PYTHON VENV REQUIREMENTS
# On a terminal a spinner runs while pip works; elsewhere (CI, a pipe) only the lines are printed.
set -uo pipefail
python=$1 venv=$2 requirements=$3
home="${PULSE_HOME:-$(dirname "$venv")/.pulse}"
mkdir -p "$home"
log="$home/install.log"
start=$(date +%s)
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Pulse needs Python 3.11 or newer")' || exit 1
echo "▸ install  the Python packages of $requirements into $venv (the first time takes a few minutes; log: $log)"
"$python" -m venv "$venv" || exit 1
( "$venv/bin/pip" install --upgrade pip && "$venv/bin/pip" install -r "$requirements" ) > "$log" 2>&1 &
pid=$!
if [ -t 1 ]; then
  frames='|/-\'
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    printf '\r  %s pip is installing (%d s)' "${frames:$(( i++ % 4 )):1}" $(( $(date +%s) - start ))
    sleep 0.25
  done
  printf '\r\033[K'
fi
if ! wait "$pid"; then
  echo "✗ install failed: $(grep -m1 -E '^ERROR|error:' "$log" || tail -n1 "$log")"
  echo "  log:  $log"
  echo "  hint: pip needs network access to the package index; Python 3.11+ with venv (apt-get install python3-venv)."
  exit 1
fi
count=$(ls -d "$venv"/lib/python3*/site-packages/*.dist-info | wc -l)
echo "✓ install  $count packages in $venv  ($(( $(date +%s) - start )) s)"
