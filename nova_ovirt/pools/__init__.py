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

"""Loading the configured pools.

Backends are found by name in the ``nova_ovirt.pools`` entry point, so a
new backend is one module and one line in setup.cfg.
"""

from importlib import metadata

from oslo_config import cfg
from oslo_log import log as logging
import stevedore

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import exception

LOG = logging.getLogger(__name__)

NAMESPACE = 'nova_ovirt.pools'


def available_backends():
    """Backend names, read from the entry point without importing them."""
    return sorted({ep.name for ep in metadata.entry_points(group=NAMESPACE)})


def backend_class(name, group):
    """Return the Pool class registered for backend `name`."""
    try:
        manager = stevedore.DriverManager(NAMESPACE, name,
                                          invoke_on_load=False)
    except stevedore.exception.NoMatches:
        raise exception.PoolConfigError(
            group, 'backend', name,
            'unknown backend; known backends: %s' %
            ', '.join(available_backends()))
    return manager.driver


def _read(group_conf, group, opt):
    """An option's value; a value oslo.config cannot take (not a number,
    a bad URL, an unknown choice, a ``$name`` that names no option) is a
    PoolConfigError naming the option."""
    try:
        return getattr(group_conf, opt.dest)
    except (cfg.Error, ValueError) as e:
        secret = getattr(opt, 'secret', False)
        if secret:
            reason = 'not a valid value'
        else:
            # oslo.config's "Value for option X from <file> is not
            # valid: <why>": the why is what the operator needs.
            reason = str(e).split('is not valid: ', 1)[-1]
        if isinstance(e, (cfg.NoSuchOptError,
                          cfg.TemplateSubstitutionError)):
            reason += ' (write a literal "$" as "$$")'
        raise exception.PoolConfigError(
            group, opt.name, '***' if secret else '(unreadable)',
            'cannot be read: %s' % reason)


def check_values(group_conf, group, opts):
    """Read every option of a pool section once (see :func:`_read`)."""
    for opt in opts:
        _read(group_conf, group, opt)


def load_pools(conf, host, event_queue):
    """Build every pool of ``[ovirt] pools``; nothing is connected yet.

    Configuration mistakes raise PoolConfigError naming the option.
    """
    names = [n.strip() for n in _read(conf.ovirt, ovirt_conf.OVIRT_GROUP,
                                      ovirt_conf.POOLS_OPT) if n.strip()]
    if not names:
        raise exception.PoolConfigError(
            ovirt_conf.OVIRT_GROUP, 'pools', conf.ovirt.pools,
            'no pool configured; list at least one pool and give each a '
            '[ovirt_pool:<name>] section')
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise exception.PoolConfigError(
            ovirt_conf.OVIRT_GROUP, 'pools', conf.ovirt.pools,
            'pool listed twice: %s' % ', '.join(duplicates))
    pools = {}
    for name in names:
        group = ovirt_conf.pool_group_name(name)
        common = ovirt_conf.register_pool_common_opts(conf, name)
        check_values(common, group, ovirt_conf.POOL_COMMON_OPTS)
        if not common.backend:
            raise exception.PoolConfigError(
                group, 'backend', common.backend,
                'missing; set it to one of: %s' %
                ', '.join(available_backends()))
        cls = backend_class(common.backend, group)
        pool_conf = ovirt_conf.register_pool_backend_opts(conf, name, cls.OPTS)
        check_values(pool_conf, group, cls.OPTS)
        pools[name] = cls(name, pool_conf, host, event_queue)
        LOG.info('Pool %s uses the %s backend', name, common.backend)
    return pools
