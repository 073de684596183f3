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

"""The resilience tier: the pools under faults, with figures.

Every scenario drives OvirtPool / OvirtDriver (and the libvirt pool) the
way nova's compute manager calls them, against the engine simulator's
fault injection or real libvirtd hosts, and appends its figures to a
JSON-lines report (``tools/resilience_report.py`` prints them).
"""
