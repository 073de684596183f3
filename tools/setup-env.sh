#!/bin/bash
# Prepare a fresh Debian machine to run nova-ovirt's tests and demo:
# system packages from bindep.txt, then a virtualenv (.venv) with nova 34
# and every Python dependency pinned by tools/upper-constraints.txt.
# Idempotent: a second run installs nothing new and takes seconds.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${NOVA_OVIRT_VENV:-.venv}
PYTHON=${PYTHON:-python3}
log() { echo "[setup-env] $*"; }

missing_system_packages() {
    "$VENV/bin/bindep" -b 2>/dev/null || true
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating virtualenv $VENV"
        "$PYTHON" -m venv "$VENV"
        "$VENV/bin/pip" install -q --upgrade pip
    fi
    "$VENV/bin/pip" show -q bindep >/dev/null 2>&1 ||
        "$VENV/bin/pip" install -q bindep
}

ensure_apt_lists() {
    # The test guest's kernel comes from `apt-get download`, which needs
    # apt's package lists even when every package is already installed.
    if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
        log "fetching apt package lists"
        apt-get update -qq
    fi
}

ensure_system_packages() {
    local missing
    missing=$(missing_system_packages)
    if [ -z "$missing" ]; then
        [ "$(id -u)" != 0 ] || ensure_apt_lists
        return
    fi
    log "installing system packages: $(echo $missing)"
    if [ "$(id -u)" != 0 ]; then
        echo "setup-env: missing system packages ($(echo $missing)); run as root or install them with apt-get" >&2
        exit 2
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

ensure_python_packages() {
    local stamp="$VENV/.nova-ovirt-requirements"
    local want
    want=$(cat requirements.txt test-requirements.txt tools/upper-constraints.txt setup.cfg | sha256sum | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        log "installing Python packages (nova 34 and the driver's dependencies)"
        "$VENV/bin/pip" install -q -c tools/upper-constraints.txt \
            -r requirements.txt -r test-requirements.txt
        echo "$want" > "$stamp"
    fi
    # The driver itself, with its loading hook nova-ovirt.pth (see
    # doc/source/install.rst); an editable install would work as well.
    # setuptools keeps build/ between builds: files removed from the
    # source tree would otherwise live on in the wheel.
    rm -rf build ovirt_engine_sim/build
    "$VENV/bin/pip" install -q --no-deps --force-reinstall . 2>&1 |
        grep -v "^WARNING: Location" || true
    # The engine simulator: a distribution of its own (never in the
    # driver's wheel), for the tests, the demo and devstack's simulator.
    "$VENV/bin/pip" install -q --no-deps --force-reinstall ./ovirt_engine_sim 2>&1 |
        grep -v "^WARNING: Location" || true
}

ensure_venv
ensure_system_packages
ensure_python_packages
log "ready: $VENV"
