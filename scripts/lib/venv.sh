# Sourced by scripts/demo and scripts/test: make .venv with the project installed, once per pyproject change.
# Needs only Python 3.11+ on PATH (python3.11 or python3), or PYTHON=/path/to/python.
ensure_venv() {
  local extras=$1 python=${PYTHON:-}
  if [[ -z "$python" ]]; then
    python=$(command -v python3.11 || command -v python3 || true)
  fi
  if [[ -z "$python" ]] || ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "tongban needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
    exit 1
  fi
  local stamp=.venv/.installed-$extras
  local want
  want=$("$python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())' < pyproject.toml)
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  # The dev install includes the runtime one: the demo need not reinstall after the tests.
  if [[ -z "$extras" && -f .venv/.installed-dev && "$(cat .venv/.installed-dev)" == "$want" ]]; then
    return
  fi
  echo "setting up .venv (${extras:-runtime} dependencies); this takes a minute the first time ..."
  [[ -x .venv/bin/python ]] || "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
  rm -f .venv/.installed-*
  echo "$want" > "$stamp"
}
