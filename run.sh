#!/usr/bin/env bash
# KD Studio's one entry point. Sets up .venv when needed, then runs what you ask for:
#
#   bash run.sh app            the Streamlit app (SQLite store under $KDCORE_HOME or
#                              ~/.kdstudio; the app starts a local worker itself)
#   bash run.sh test [ARGS]    the whole pytest suite, slow and e2e included
#                              (ARGS go to pytest: bash run.sh test -k store)
#   bash run.sh lint           ruff check and the import-layer contracts (lint-imports)
#   bash run.sh worker [ARGS]  a worker process in the foreground (python -m kdcore worker)
#   bash run.sh bench [ARGS]   benchmarks: python -m bench.run ARGS (bench/README.md)
#   bash run.sh cli [ARGS]     python -m kdcore ARGS (run, submit, status, schema, ...)
#   bash run.sh setup          only create/update .venv (with the test requirements)
#
# Environment: KDSTUDIO_VENV (default: ./.venv), PYTHON (default: python3) to create it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
VENV="${KDSTUDIO_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
BASE_PYTHON="${PYTHON:-python3}"

say() { printf 'run.sh: %s\n' "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

ensure_venv() {
    if [[ -x "$PY" ]] && "$PY" -c 'import sys' >/dev/null 2>&1; then
        return
    fi
    command -v "$BASE_PYTHON" >/dev/null 2>&1 \
        || die "$BASE_PYTHON not found: install Python 3.10 or newer (or set PYTHON=/path/to/python3)"
    "$BASE_PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
        || die "Python 3.10 or newer is needed, $BASE_PYTHON is $("$BASE_PYTHON" --version 2>&1)"
    if [[ -e "$VENV" ]]; then
        say "$VENV exists but its python does not run; recreating it"
        rm -rf "$VENV"
    fi
    say "creating a virtual environment in $VENV with $("$BASE_PYTHON" --version 2>&1)"
    "$BASE_PYTHON" -m venv "$VENV" \
        || die "'$BASE_PYTHON -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
    "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip \
        2> >(grep -v "^WARNING: Location 'file:" >&2) \
        || die "could not upgrade pip in $VENV"
}

# ensure_requirements NAME FILE...: pip install -r each FILE unless the same contents were
# installed last time (a sha256 stamp per NAME inside the venv).
ensure_requirements() {
    local name="$1"; shift
    local stamp="$VENV/.kdstudio-$name.sha256" want file
    for file in "$@"; do
        [[ -f "$file" ]] || die "$file is missing"
    done
    want="$(requirements_hash "$@")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return
    fi
    # requirements.txt asks for `tensorflow` (one wheel for CPU and GPU); `tensorflow-cpu`
    # installs into the same package folder, so the two must never be installed together.
    if grep -Eqi '^[[:space:]]*tensorflow([[:space:]]|\[|=|<|>|~|!|;|$)' "$@" 2>/dev/null \
        && "$PY" -m pip show --quiet tensorflow-cpu >/dev/null 2>&1; then
        say "replacing tensorflow-cpu with tensorflow (requirements.txt asks for tensorflow)"
        "$PY" -m pip uninstall --quiet -y tensorflow-cpu tensorflow >/dev/null 2>&1 || true
    fi
    local args=()
    for file in "$@"; do args+=(-r "$file"); done
    say "installing $* into $VENV (first time or changed; this can take a few minutes)"
    # (this machine's pip config names local index folders that may be absent: hide that noise)
    "$PY" -m pip install --quiet --disable-pip-version-check "${args[@]}" \
        2> >(grep -v "^WARNING: Location 'file:" >&2) \
        || die "pip install ${args[*]} failed (see above); $VENV was left as it is"
    rm -f "$VENV"/.kdstudio-*.sha256   # another set may share packages that just changed
    printf '%s\n' "$want" >"$stamp"
    if [[ "$name" != runtime ]]; then   # the dev set includes requirements.txt
        requirements_hash requirements.txt >"$VENV/.kdstudio-runtime.sha256"
    fi
}

requirements_hash() {
    { "$PY" --version 2>&1; for file in "$@"; do printf '== %s\n' "$file"; cat "$file"; done; } \
        | sha256sum | cut -d' ' -f1
}

ensure_chromium() {
    if command -v chromium >/dev/null 2>&1; then
        return
    fi
    if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing Debian's chromium for the browser (e2e) tests"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null || die "apt-get update failed"
        apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
        command -v chromium >/dev/null 2>&1 || die "chromium was installed but is not on PATH"
    else
        say "warning: chromium is not installed and this is not root; the browser (e2e) tests"
        say "         cannot run. Install it with: sudo apt-get install chromium"
    fi
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift

case "$cmd" in
    app)
        ensure_venv
        ensure_requirements runtime requirements.txt
        exec "$PY" -m streamlit run app.py "$@"
        ;;
    test)
        ensure_venv
        ensure_requirements dev requirements.txt requirements-dev.txt
        ensure_chromium
        exec "$PY" -m pytest "$@"
        ;;
    lint)
        ensure_venv
        ensure_requirements dev requirements.txt requirements-dev.txt
        "$PY" -m ruff check . || die "ruff check found problems (see above; many are fixed by: $PY -m ruff check --fix .)"
        "$VENV/bin/lint-imports" || die "an import breaks the package's layers (see above; docs/architecture.md)"
        ;;
    worker)
        ensure_venv
        ensure_requirements runtime requirements.txt
        exec "$PY" -m kdcore worker "$@"
        ;;
    bench)
        ensure_venv
        ensure_requirements runtime requirements.txt
        exec "$PY" -m bench.run "$@"
        ;;
    cli)
        ensure_venv
        ensure_requirements runtime requirements.txt
        exec "$PY" -m kdcore "$@"
        ;;
    setup)
        ensure_venv
        ensure_requirements dev requirements.txt requirements-dev.txt
        say "ready: $VENV"
        ;;
    -h|--help|help)
        usage
        ;;
    "")
        usage >&2
        die "no command given (app, test, lint, worker, bench, cli, setup)"
        ;;
    *)
        usage >&2
        printf 'run.sh: error: unknown command %q (app, test, lint, worker, bench, cli, setup)\n' "$cmd" >&2
        exit 2
        ;;
esac
