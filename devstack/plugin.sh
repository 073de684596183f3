#!/bin/bash
# nova-ovirt devstack plugin: installs the driver, configures nova-compute
# with compute_driver = ovirt.OvirtDriver and its pools, and runs the engine
# simulator as the devstack service ovirt-engine-sim. Everything happens on
# nodes that run n-cpu only: a controller without n-cpu is left alone.
# See devstack/README.rst and doc/source/devstack.rst.

NOVA_OVIRT_XTRACE=$(set +o | grep xtrace)
set -o xtrace

function _ovirt_backend_of_pool {
    case "$1" in
        kvm|libvirt*) echo libvirt ;;
        *) echo ovirt ;;
    esac
}

function _ovirt_pools_use_local_libvirtd {
    local pool
    for pool in ${OVIRT_POOLS//,/ }; do
        if [[ "$(_ovirt_backend_of_pool "$pool")" == libvirt &&
              ",$OVIRT_LIBVIRT_URIS," =~ ,qemu:///system, ]]; then
            return 0
        fi
    done
    return 1
}

function _ovirt_check_pools {
    if [[ ",$OVIRT_POOLS," =~ ,sim, ]] && ! is_service_enabled ovirt-engine-sim; then
        die $LINENO "OVIRT_POOLS=$OVIRT_POOLS names the pool 'sim' but the ovirt-engine-sim service is disabled (OVIRT_SIM=False or disable_service ovirt-engine-sim): drop 'sim' from OVIRT_POOLS"
    fi
}

function install_nova_ovirt {
    # The editable install carries nova-ovirt.pth too, the hook that
    # serves nova.virt.ovirt (doc/source/install.rst).
    setup_develop "$NOVA_OVIRT_DIR"
    # tempest's node needs the support matrix only.
    is_service_enabled n-cpu || return 0
    if is_service_enabled ovirt-engine-sim; then
        pip_install "$NOVA_OVIRT_DIR/ovirt_engine_sim"
    fi
    # VIRT_DRIVER=libvirt has installed libvirtd already; any other
    # VIRT_DRIVER (ovirt) leaves it to us.
    if [[ "$VIRT_DRIVER" != libvirt ]] && _ovirt_pools_use_local_libvirtd; then
        source "$TOP_DIR/lib/nova_plugins/functions-libvirt"
        install_libvirt
    fi
}

# The libvirt pool's domain type, decided now: devstack's configure_nova
# (before post-config) has turned LIBVIRT_TYPE=kvm into qemu on hosts
# without /dev/kvm when VIRT_DRIVER=libvirt; otherwise we check ourselves.
function _ovirt_libvirt_domain_type {
    if [[ -n "$OVIRT_LIBVIRT_DOMAIN_TYPE" ]]; then
        echo "$OVIRT_LIBVIRT_DOMAIN_TYPE"
    elif [[ "$VIRT_DRIVER" == libvirt ]]; then
        echo "${LIBVIRT_TYPE:-kvm}"
    elif [[ -e "$OVIRT_KVM_DEVICE" ]]; then
        echo kvm
    else
        echo qemu
    fi
}

function _configure_ovirt_sim_pool {
    local conf=$1 group="ovirt_pool:sim"
    iniset "$conf" "$group" backend ovirt
    iniset "$conf" "$group" url "https://$OVIRT_SIM_LISTEN/ovirt-engine/api"
    iniset "$conf" "$group" username admin@internal
    iniset "$conf" "$group" password "$ADMIN_PASSWORD"
    iniset "$conf" "$group" ca_file "$OVIRT_SIM_STATE_DIR/ca.pem"
    iniset "$conf" "$group" clusters cluster1,cluster2
    iniset "$conf" "$group" storage_domain data
}

function _configure_ovirt_engine_pool {
    local conf=$1 group="ovirt_pool:$2"
    iniset "$conf" "$group" backend ovirt
    iniset "$conf" "$group" url "$OVIRT_ENGINE_URL"
    iniset "$conf" "$group" username "$OVIRT_ENGINE_USER"
    iniset "$conf" "$group" password "$OVIRT_ENGINE_PASSWORD"
    iniset "$conf" "$group" ca_file "$OVIRT_ENGINE_CA_FILE"
    iniset "$conf" "$group" clusters "$OVIRT_CLUSTERS"
    iniset "$conf" "$group" storage_domain "$OVIRT_STORAGE_DOMAIN"
}

function _configure_libvirt_pool {
    local conf=$1 group="ovirt_pool:$2"
    iniset "$conf" "$group" backend libvirt
    iniset "$conf" "$group" uris "$OVIRT_LIBVIRT_URIS"
    iniset "$conf" "$group" domain_type "$(_ovirt_libvirt_domain_type)"
}

function _configure_ovirt_pools {
    local conf=$1 pools=$2 pool
    iniset "$conf" ovirt pools "$pools"
    for pool in ${pools//,/ }; do
        if [[ "$pool" == sim ]]; then
            _configure_ovirt_sim_pool "$conf"
        elif [[ "$(_ovirt_backend_of_pool "$pool")" == libvirt ]]; then
            _configure_libvirt_pool "$conf" "$pool"
        else
            _configure_ovirt_engine_pool "$conf" "$pool"
        fi
    done
}

# Pools of n-cpu itself: all of them, or the first one per service.
function _ovirt_ncpu_pools {
    if [[ "$OVIRT_SERVICE_PER_POOL" == True ]]; then
        echo "${OVIRT_POOLS%%,*}"
    else
        echo "$OVIRT_POOLS"
    fi
}

function configure_nova_ovirt {
    _ovirt_check_pools
    iniset "$NOVA_CONF" DEFAULT compute_driver ovirt.OvirtDriver
    _configure_ovirt_pools "$NOVA_CONF" "$(_ovirt_ncpu_pools)"
}

function _ovirt_port_in_use {
    # A connection within 2 s; a full listen backlog must not hang us.
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

function _ovirt_sim_password_file {
    echo "$OVIRT_SIM_STATE_DIR/password"
}

function start_ovirt_engine_sim {
    is_service_enabled ovirt-engine-sim || return 0
    # A second stack.sh without unstack: our own earlier simulator still
    # holds the port; stop it first (a no-op when it is not there).
    stop_process ovirt-engine-sim
    # nova.conf names the port: it must be a fixed one, and free.
    local host=${OVIRT_SIM_LISTEN%:*} port=${OVIRT_SIM_LISTEN##*:}
    if [[ ! "$port" =~ ^[1-9][0-9]*$ ]]; then
        die $LINENO "OVIRT_SIM_LISTEN=$OVIRT_SIM_LISTEN: give HOST:PORT with a fixed port"
    fi
    local i
    for i in $(seq 1 20); do
        _ovirt_port_in_use "${host:-127.0.0.1}" "$port" || break
        sleep 0.5
    done
    if _ovirt_port_in_use "${host:-127.0.0.1}" "$port"; then
        die $LINENO "OVIRT_SIM_LISTEN=$OVIRT_SIM_LISTEN: the port is in use"
    fi
    mkdir -p "$OVIRT_SIM_STATE_DIR"
    # The password goes in a file only its owner reads, never on the
    # command line (systemd unit, ps).
    local password_file
    password_file=$(_ovirt_sim_password_file)
    (umask 077 && printf '%s\n' "$ADMIN_PASSWORD" > "$password_file")
    chmod 600 "$password_file"
    # The simulator writes its pool snippet once it listens: the sign it
    # is ready (a snippet of an earlier run must not count).
    rm -f "$OVIRT_SIM_STATE_DIR/nova-ovirt.conf"
    run_process ovirt-engine-sim "$(get_python_exec_prefix)/nova-ovirt-engine-sim --listen $OVIRT_SIM_LISTEN --state-dir $OVIRT_SIM_STATE_DIR --password-file $password_file --scenario default"
    for i in $(seq 1 60); do
        [[ -f "$OVIRT_SIM_STATE_DIR/nova-ovirt.conf" ]] && return
        sleep 0.5
    done
    die $LINENO "the oVirt engine simulator did not start on $OVIRT_SIM_LISTEN (no $OVIRT_SIM_STATE_DIR/nova-ovirt.conf)"
}

# OVIRT_SERVICE_PER_POOL=True: one more nova-compute per pool after the
# first, started once devstack has written n-cpu's own nova-cpu.conf.
function start_nova_ovirt_extra_computes {
    [[ "$OVIRT_SERVICE_PER_POOL" == True ]] || return 0
    local pool conf
    for pool in ${OVIRT_POOLS//,/ }; do
        [[ "$pool" == "${OVIRT_POOLS%%,*}" ]] && continue
        conf="$NOVA_CONF_DIR/nova-cpu-$pool.conf"
        cp "$NOVA_CPU_CONF" "$conf"
        iniset "$conf" DEFAULT host "$HOSTNAME-$pool"
        iniset "$conf" DEFAULT state_path "$DATA_DIR/nova-$pool"
        _configure_ovirt_pools "$conf" "$pool"
        mkdir -p "$DATA_DIR/nova-$pool"
        # n-cpu-* is enabled whenever n-cpu is (devstack's is_service_enabled).
        run_process "n-cpu-$pool" "$NOVA_BIN_DIR/nova-compute --config-file $conf"
    done
}

function stop_nova_ovirt_extra_computes {
    local pool
    for pool in ${OVIRT_POOLS//,/ }; do
        stop_process "n-cpu-$pool"
    done
}

function configure_tempest_for_nova_ovirt {
    is_service_enabled tempest || return 0
    # Feature flags from nova_ovirt/support.py (the support matrix): a
    # feature is on only when every backend of OVIRT_POOLS supports it.
    local backends="" pool
    for pool in ${OVIRT_POOLS//,/ }; do
        backends+=" $(_ovirt_backend_of_pool "$pool")"
    done
    # $PYTHON now, not when settings were read: stack.sh has switched to
    # its global virtualenv (where setup_develop installed us) since.
    local python=${NOVA_OVIRT_PYTHON:-$PYTHON} flags
    # shellcheck disable=SC2086
    flags=$("$python" -m nova_ovirt.support tempest-flags $backends) ||
        die $LINENO "$python -m nova_ovirt.support tempest-flags$backends failed"
    local section option value
    while read -r section option value; do
        [[ -n "$section" ]] || continue
        iniset "$TEMPEST_CONFIG" "$section" "$option" "$value"
    done <<< "$flags"
}

if [[ "$1" == "stack" && "$2" == "install" ]] && is_service_enabled n-cpu tempest; then
    # System packages come from devstack/files/{debs,rpms}/nova-ovirt.
    install_nova_ovirt
elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
    configure_tempest_for_nova_ovirt
fi

if is_service_enabled n-cpu; then
    if [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        configure_nova_ovirt
        start_ovirt_engine_sim
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        start_nova_ovirt_extra_computes
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_nova_ovirt_extra_computes
        stop_process ovirt-engine-sim
    fi

    if [[ "$1" == "clean" ]]; then
        rm -rf "$OVIRT_SIM_STATE_DIR"
    fi
fi

$NOVA_OVIRT_XTRACE
