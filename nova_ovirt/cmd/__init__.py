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

"""Command line tools of nova-ovirt (console_scripts entry points)."""

import warnings

# futurist (imported through nova) imports eventlet when it is installed,
# and eventlet warns that it is deprecated; the commands run in native
# threading mode and their users need not read that on every run.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
