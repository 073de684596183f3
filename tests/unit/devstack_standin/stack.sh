#!/bin/bash
# stack.sh's order of events, as far as the plugin sees them (devstack
# 493835a6: stack.sh, stackrc, lib/nova), for one plugin, nova-ovirt.
# Usage: stack.sh [stack|unstack|clean]
set -o errexit
source "$STANDIN_DIR/functions"
mode=${1:-stack}
plugin=$NOVA_OVIRT_DIR/devstack

# stackrc: local.conf's localrc first, then devstack's defaults.
source "$WORK/localrc"
ENABLED_SERVICES=${ENABLED_SERVICES:-n-cpu,n-api,tempest}
GLOBAL_VENV=$(trueorfalse True GLOBAL_VENV)
DEVSTACK_VENV=${DEVSTACK_VENV:-$DATA_DIR/venv}
VIRT_DRIVER=${VIRT_DRIVER:-libvirt}
if [[ "$VIRT_DRIVER" == libvirt ]]; then
    LIBVIRT_TYPE=${LIBVIRT_TYPE:-kvm}
fi

# run_phase source: load_plugin_settings.
source "$plugin/settings"

if [[ "$mode" != stack ]]; then
    source "$plugin/plugin.sh" "$mode"
    exit 0
fi

# fixup_all; setup_devstack_virtualenv (inc/python): the global venv.
if [[ "$GLOBAL_VENV" == True ]]; then
    export PATH="$DEVSTACK_VENV/bin:$PATH"
    export PYTHON="$DEVSTACK_VENV/bin/python3"
fi

source "$plugin/plugin.sh" stack pre-install

# install_nova, configure_nova (lib/nova): kvm -> qemu without /dev/kvm.
if is_service_enabled n-cpu && [[ "$VIRT_DRIVER" == libvirt ]]; then
    if [[ "$LIBVIRT_TYPE" == kvm && "$STANDIN_HOST_HAS_KVM" != True ]]; then
        echo "WARNING: Switching to QEMU"
        LIBVIRT_TYPE=qemu
    fi
fi
source "$plugin/plugin.sh" stack install

# create_nova_conf, init_nova: nova.conf written afresh.
rm -f "$NOVA_CONF"
iniset "$NOVA_CONF" DEFAULT allow_resize_to_same_host True
iniset "$NOVA_CONF" DEFAULT state_path "$DATA_DIR/nova"
source "$plugin/plugin.sh" stack post-config

# start_nova -> start_nova_compute: nova-cpu.conf is a copy of nova.conf.
if is_service_enabled n-cpu; then
    cp "$NOVA_CONF" "$NOVA_CPU_CONF"
    run_process n-cpu "$NOVA_BIN_DIR/nova-compute --config-file $NOVA_CPU_CONF"
fi
source "$plugin/plugin.sh" stack extra
source "$plugin/plugin.sh" stack test-config
