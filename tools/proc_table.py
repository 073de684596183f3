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

"""The machine's processes from /proc, for the tools that look for theirs."""

import collections
import os

Process = collections.namedtuple('Process', 'pid ppid pgrp comm cmdline')


def processes():
    """Every process still there when read (Linux /proc)."""
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                # pid (comm) state ppid pgrp ...: comm may hold spaces.
                comm, rest = f.read().split(' (', 1)[1].rsplit(')', 1)
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                cmdline = f.read()
        except OSError:
            continue                    # gone meanwhile
        fields = rest.split()
        yield Process(int(entry), int(fields[1]), int(fields[2]), comm,
                      cmdline)
