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

"""The image cache rules both pools share.

nova's periodic task calls ``manage_image_cache`` with the instances of
this service; every pool then removes the images it cached (libvirt base
volumes ``image-<id>``, oVirt templates ``nova-image-<id>``) that nothing
uses any more. This module holds what the pools share: the images nova's
instances refer to, nova's ``[image_cache]`` options, the "unused since"
bookkeeping and the log line. Which cached image a guest still uses is
each backend's own business (backing files, template children).

Not for: uploading images (each pool's ``images`` module does that).
"""

import time

from oslo_log import log as logging

import nova.conf

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


def enabled():
    return CONF.image_cache.remove_unused_base_images


def minimum_age():
    """Seconds a cached image must stay unused before it goes."""
    return CONF.image_cache.remove_unused_original_minimum_age_seconds


def used_image_ids(all_instances):
    """Images nova's instances refer to: booted, building, resizing."""
    return {inst.image_ref for inst in all_instances if inst.image_ref}


class UnusedSince(object):
    """When each cached image was first seen unused, per location.

    Kept in memory: after a restart the age counts again from the first
    pass, which only ever keeps an image longer (a re-download is the
    cost of removing too early, never lost data).
    """

    def __init__(self):
        self._first_seen = {}

    def seen_used(self, key):
        self._first_seen.pop(key, None)

    def old_enough(self, key, min_age, now=None):
        now = time.monotonic() if now is None else now
        since = self._first_seen.setdefault(key, now)
        return now - since >= min_age

    def forget_missing(self, keys):
        for key in set(self._first_seen) - set(keys):
            self._first_seen.pop(key)


def log_pass(pool_name, where, removed, freed, kept):
    LOG.info('Image cache of pool %(pool)s on %(where)s: removed %(removed)d '
             'unused image(s), %(freed)s freed; %(kept)d still cached',
             {'pool': pool_name, 'where': where, 'removed': removed,
              'freed': _human(freed),
              'kept': kept})


def _human(size):
    """1536 -> '1.5 KiB' (bytes stay whole)."""
    if size < 1024:
        return '%d B' % size
    for unit in ('KiB', 'MiB', 'GiB'):
        size /= 1024.0
        if size < 1024 or unit == 'GiB':
            return '%.1f %s' % (size, unit)
