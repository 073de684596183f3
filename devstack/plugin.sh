#!/bin/bash
# nova-ovirt devstack plugin: installs the driver, configures nova-compute
# with compute_driver = ovirt.OvirtDriver and its pools, and (OVIRT_SIM)
# runs the engine simulator as a devstack service.

NOVA_OVIRT_XTRACE=$(set +o | grep xtrace)
set -o xtrace

function install_nova_ovirt {
    setup_develop "$NOVA_OVIRT_DIR"
}

function _configure_ovirt_sim_pool {
    local group="ovirt_pool:sim"
    iniset "$NOVA_CONF" "$group" backend ovirt
    iniset "$NOVA_CONF" "$group" url "https://$OVIRT_SIM_LISTEN/ovirt-engine/api"
    iniset "$NOVA_CONF" "$group" username admin@internal
    iniset "$NOVA_CONF" "$group" password "$ADMIN_PASSWORD"
    iniset "$NOVA_CONF" "$group" ca_file "$OVIRT_SIM_STATE_DIR/ca.pem"
    iniset "$NOVA_CONF" "$group" clusters cluster1,cluster2
    iniset "$NOVA_CONF" "$group" storage_domain data
}

function _configure_ovirt_engine_pool {
    local group="ovirt_pool:$1"
    iniset "$NOVA_CONF" "$group" backend ovirt
    iniset "$NOVA_CONF" "$group" url "$OVIRT_ENGINE_URL"
    iniset "$NOVA_CONF" "$group" username "$OVIRT_ENGINE_USER"
    iniset "$NOVA_CONF" "$group" password "$OVIRT_ENGINE_PASSWORD"
    iniset "$NOVA_CONF" "$group" ca_file "$OVIRT_ENGINE_CA_FILE"
    iniset "$NOVA_CONF" "$group" clusters "$OVIRT_CLUSTERS"
    iniset "$NOVA_CONF" "$group" storage_domain "$OVIRT_STORAGE_DOMAIN"
}

function _configure_libvirt_pool {
    local group="ovirt_pool:$1"
    iniset "$NOVA_CONF" "$group" backend libvirt
    iniset "$NOVA_CONF" "$group" uris "$OVIRT_LIBVIRT_URIS"
    iniset "$NOVA_CONF" "$group" domain_type "$OVIRT_LIBVIRT_DOMAIN_TYPE"
}

function configure_nova_ovirt {
    iniset "$NOVA_CONF" DEFAULT compute_driver ovirt.OvirtDriver
    iniset "$NOVA_CONF" DEFAULT allow_resize_to_same_host True
    iniset "$NOVA_CONF" ovirt pools "$OVIRT_POOLS"
    local pool
    for pool in ${OVIRT_POOLS//,/ }; do
        case "$pool" in
            sim)
                _configure_ovirt_sim_pool ;;
            *)
                if [[ "$(_ovirt_backend_of_pool "$pool")" == libvirt ]]; then
                    _configure_libvirt_pool "$pool"
                else
                    _configure_ovirt_engine_pool "$pool"
                fi ;;
        esac
    done
}

function _ovirt_backend_of_pool {
    case "$1" in
        kvm|libvirt*) echo libvirt ;;
        *) echo ovirt ;;
    esac
}

function start_ovirt_engine_sim {
    if [[ "$OVIRT_SIM" != "True" ]]; then
        return
    fi
    # nova.conf names the port: it must be a fixed one, and free.
    local host=${OVIRT_SIM_LISTEN%:*} port=${OVIRT_SIM_LISTEN##*:}
    if [[ ! "$port" =~ ^[1-9][0-9]*$ ]]; then
        die $LINENO "OVIRT_SIM_LISTEN=$OVIRT_SIM_LISTEN: give HOST:PORT with a fixed port"
    fi
    if (exec 3<>"/dev/tcp/${host:-127.0.0.1}/$port") 2>/dev/null; then
        die $LINENO "OVIRT_SIM_LISTEN=$OVIRT_SIM_LISTEN: the port is in use"
    fi
    mkdir -p "$OVIRT_SIM_STATE_DIR"
    # The simulator writes its pool snippet once it listens: the sign it
    # is ready (a snippet of an earlier run must not count).
    rm -f "$OVIRT_SIM_STATE_DIR/nova-ovirt.conf"
    run_process ovirt-engine-sim "$(which nova-ovirt-engine-sim) --listen $OVIRT_SIM_LISTEN --state-dir $OVIRT_SIM_STATE_DIR --password $ADMIN_PASSWORD --scenario default"
    local i
    for i in $(seq 1 60); do
        [[ -f "$OVIRT_SIM_STATE_DIR/nova-ovirt.conf" ]] && return
        sleep 0.5
    done
    die $LINENO "the oVirt engine simulator did not start on $OVIRT_SIM_LISTEN (no $OVIRT_SIM_STATE_DIR/nova-ovirt.conf)"
}

function configure_tempest_for_nova_ovirt {
    if ! is_service_enabled tempest; then
        return
    fi
    # Feature flags from nova_ovirt/support.py (the support matrix): a
    # feature is on only when every backend of OVIRT_POOLS supports it.
    local backends="" pool
    for pool in ${OVIRT_POOLS//,/ }; do
        backends+=" $(_ovirt_backend_of_pool "$pool")"
    done
    local flags
    # shellcheck disable=SC2086
    flags=$("$NOVA_OVIRT_PYTHON" -m nova_ovirt.support tempest-flags $backends) ||
        die $LINENO "nova_ovirt.support tempest-flags$backends failed"
    local section option value
    while read -r section option value; do
        [[ -n "$section" ]] || continue
        iniset "$TEMPEST_CONFIG" "$section" "$option" "$value"
    done <<< "$flags"
}

if [[ "$1" == "stack" && "$2" == "pre-install" ]]; then
    install_package genisoimage libvirt-dev pkg-config libcurl4-openssl-dev libssl-dev
elif [[ "$1" == "stack" && "$2" == "install" ]]; then
    install_nova_ovirt
elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
    configure_nova_ovirt
    start_ovirt_engine_sim
elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
    configure_tempest_for_nova_ovirt
fi

if [[ "$1" == "unstack" ]]; then
    stop_process ovirt-engine-sim
fi

if [[ "$1" == "clean" ]]; then
    rm -rf "$OVIRT_SIM_STATE_DIR"
fi

$NOVA_OVIRT_XTRACE
