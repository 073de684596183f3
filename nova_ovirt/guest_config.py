# Copyright 2026 nova-ovirt developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""The guest settings users choose: flavor extra specs, image properties.

One reading of the ``hw:*`` extra specs and ``hw_*`` image properties that
both backends honour, with nova's own parsing where nova has it (CPU
topology from :mod:`nova.virt.hardware`, the typed fields of
``ImageMeta.properties``). Each backend maps the values it can honour to
its own terms and refuses the others with :class:`UnsupportedGuestProperty`,
which names the property: no setting is silently dropped.

Not for: deciding what a backend can do (the backends' ``vmops`` do that,
against what their host or engine offers).
"""

import collections

from oslo_log import log as logging
from oslo_utils import strutils

import nova.conf
from nova import exception as nova_exception
from nova import objects
from nova.virt import hardware

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

#: ``hw:cpu_mode`` values, as nova's ``[libvirt]cpu_mode`` spells them.
CPU_MODES = ('host-model', 'host-passthrough', 'custom', 'none')
UEFI = 'uefi'
BIOS = 'bios'
#: nova's default machine type for x86 (nova.virt.libvirt.utils).
DEFAULT_MACHINE_TYPE = 'pc'


class UnsupportedGuestProperty(nova_exception.InvalidInput):
    """A flavor extra spec or image property the backend cannot honour.

    An InvalidInput: nova's compute manager aborts the build (no
    reschedule to a node that would refuse it the same way) and records
    the message as the server's fault.
    """
    msg_fmt = '%(property)s=%(value)s is not supported on %(target)s: ' \
              '%(reason)s'


#: What a guest looks like, in backend-neutral values. ``None`` means the
#: user asked for nothing: the backend's default applies.
GuestSettings = collections.namedtuple('GuestSettings', [
    'cpu_mode', 'cpu_model', 'sockets', 'cores', 'threads',
    'machine_type', 'firmware', 'disk_bus', 'vif_model', 'video_model',
    'rng_model', 'rng_rate_bytes', 'rng_rate_period', 'os_type',
    'guest_agent'])


def default_machine_type(arch='x86_64'):
    """nova's ``[libvirt]hw_machine_type`` for arch, else ``pc``.

    The same reading as nova.virt.libvirt.utils.get_default_machine_type,
    which cannot be imported here: that module pulls in oslo.privsep's
    daemon and with it eventlet, which nova 34's threading mode refuses.
    """
    for mapping in CONF.libvirt.hw_machine_type or []:
        host_arch, _, machine_type = mapping.partition('=')
        if machine_type and host_arch.strip() == arch:
            return machine_type.strip()
    return DEFAULT_MACHINE_TYPE


def image_meta_of(instance, image_meta=None):
    """The instance's image properties, as nova keeps them.

    From the instance's system metadata (nova copies the image's
    properties there at boot), so a guest redefined later (hard reboot,
    resize, unrescue) gets the settings it booted with.
    """
    if image_meta is not None and image_meta.obj_attr_is_set('properties'):
        return image_meta
    return objects.ImageMeta.from_instance(instance)


def _cpu_mode(specs, target):
    mode = specs.get('hw:cpu_mode')
    model = specs.get('hw:cpu_model')
    if mode is not None and mode not in CPU_MODES:
        raise UnsupportedGuestProperty(
            property='hw:cpu_mode', value=mode, target=target,
            reason='use one of %s' % ', '.join(CPU_MODES))
    if model and mode not in (None, 'custom'):
        raise UnsupportedGuestProperty(
            property='hw:cpu_model', value=model, target=target,
            reason='a CPU model needs hw:cpu_mode=custom, not %s' % mode)
    if mode == 'custom' and not model:
        raise UnsupportedGuestProperty(
            property='hw:cpu_mode', value=mode, target=target,
            reason='hw:cpu_model must name the CPU model')
    return ('custom' if model else mode), model


def _topology(flavor, image_meta, target):
    try:
        return hardware.get_best_cpu_topology(flavor, image_meta)
    except nova_exception.Invalid as e:
        raise UnsupportedGuestProperty(
            property='hw:cpu_sockets/cores/threads', value='(%d vCPUs)'
            % flavor.vcpus, target=target, reason=e.format_message())


def _rng(specs, props, target):
    model = props.get('hw_rng_model')
    if not model:
        return None, None, None
    # Allowed unless the flavor says otherwise, as in nova's libvirt driver
    # since Ussuri: the operator decides whether guests get a host
    # entropy source at all.
    allowed = strutils.bool_from_string(specs.get('hw_rng:allowed', 'True'))
    if not allowed:
        LOG.info('Image asks for an RNG device (hw_rng_model=%s) but the '
                 'flavor sets hw_rng:allowed=False; no RNG device', model)
        return None, None, None

    def number(name):
        value = specs.get('hw_rng:%s' % name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise UnsupportedGuestProperty(
                property='hw_rng:%s' % name, value=value, target=target,
                reason='not a number')
    return model, number('rate_bytes'), number('rate_period')


def read(flavor, image_meta, target):
    """GuestSettings of a guest of flavor booted from image_meta.

    :param target: the node (or pool) the guest is for, named in faults
    :raises UnsupportedGuestProperty: for values no backend understands
    """
    specs = flavor.extra_specs or {}
    props = image_meta.properties
    cpu_mode, cpu_model = _cpu_mode(specs, target)
    topology = _topology(flavor, image_meta, target)
    rng_model, rng_bytes, rng_period = _rng(specs, props, target)
    return GuestSettings(
        cpu_mode=cpu_mode, cpu_model=cpu_model,
        sockets=topology.sockets, cores=topology.cores,
        threads=topology.threads,
        machine_type=props.get('hw_machine_type'),
        firmware=props.get('hw_firmware_type') or BIOS,
        disk_bus=props.get('hw_disk_bus'),
        vif_model=props.get('hw_vif_model'),
        video_model=props.get('hw_video_model'),
        rng_model=rng_model, rng_rate_bytes=rng_bytes,
        rng_rate_period=rng_period,
        os_type=props.get('os_type'),
        guest_agent=bool(props.get('hw_qemu_guest_agent', False)))


def refuse(prop, value, target, reason):
    """Raise the fault of a property value a backend cannot honour."""
    raise UnsupportedGuestProperty(property=prop, value=value, target=target,
                                   reason=reason)
