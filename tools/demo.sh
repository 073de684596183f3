#!/bin/bash
# The nova-ovirt demo, from a clean clone on a fresh Debian machine (as
# root): installs what is missing (tools/setup-env.sh: the system packages
# of bindep.txt and a .venv with nova 34), then runs tools/demo.py, which
# starts the oVirt engine simulator, one real libvirtd host and nova in
# process, and boots, stops, starts, snapshots and deletes servers on both
# pools through nova's REST API. Exit code 0 when every step passed.
# Arguments go to tools/demo.py (--help lists them). With --serve the cloud
# stays up after the boots (nova's API and nova-novncproxy on 127.0.0.1) for
# the openstack CLI and a browser, until Ctrl-C. See doc/source/demo.rst.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .test-logs
echo "[demo] preparing the machine (tools/setup-env.sh; log: .test-logs/setup-env.log)"
if ! tools/setup-env.sh >.test-logs/setup-env.log 2>&1; then
    echo "demo: tools/setup-env.sh failed: $(tail -n 1 .test-logs/setup-env.log) (see .test-logs/setup-env.log)" >&2
    exit 2
fi
# nova 34's default concurrency mode, chosen before nova is imported.
export OS_NOVA_DISABLE_EVENTLET_PATCHING=1
exec "${NOVA_OVIRT_VENV:-.venv}/bin/python" tools/demo.py "$@"
