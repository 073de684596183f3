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

"""The shared reading of flavor extra specs and image properties."""

import configparser
import os

import fixtures
import testtools

from nova.api.validation.extra_specs import validators
from nova import exception as nova_exception
from nova import objects
from nova.tests.unit import fake_instance
from nova import utils as nova_utils

import nova_ovirt
from nova_ovirt import extra_specs
from nova_ovirt import guest_config

objects.register_all()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(nova_ovirt.__file__)))


def flavor(**specs):
    return objects.Flavor(name='f', memory_mb=128, vcpus=2, root_gb=1,
                          ephemeral_gb=0, swap=0, extra_specs=specs)


class ReadTest(testtools.TestCase):

    def test_defaults(self):
        settings = guest_config.read(
            flavor(), objects.ImageMeta.from_dict({}), 'n')
        self.assertEqual((None, None, 2, 1, 1, None, 'bios', False),
                         (settings.cpu_mode, settings.cpu_model,
                          settings.sockets, settings.cores, settings.threads,
                          settings.machine_type, settings.firmware,
                          settings.guest_agent))

    def test_fault_is_an_invalid_input_naming_property_and_node(self):
        e = self.assertRaises(
            guest_config.UnsupportedGuestProperty, guest_config.read,
            flavor(**{'hw:cpu_mode': 'fastest'}),
            objects.ImageMeta.from_dict({}), 'node7')
        # nova's compute manager aborts the build on InvalidInput and
        # records the message as the fault (no reschedule).
        self.assertIsInstance(e, nova_exception.InvalidInput)
        self.assertIn('hw:cpu_mode=fastest is not supported on node7',
                      e.format_message())

    def test_settings_come_from_the_instance_system_metadata(self):
        instance = fake_instance.fake_instance_obj(
            None, flavor=flavor(),
            system_metadata=nova_utils.get_system_metadata_from_image(
                {'properties': {'hw_firmware_type': 'uefi'}}),
            expected_attrs=['system_metadata'])
        meta = guest_config.image_meta_of(instance)
        self.assertEqual('uefi', meta.properties.hw_firmware_type)


class ExtraSpecValidatorsTest(testtools.TestCase):

    def test_entry_point_is_declared(self):
        cfg = configparser.ConfigParser()
        cfg.read(os.path.join(ROOT, 'setup.cfg'))
        self.assertIn('nova_ovirt = nova_ovirt.extra_specs',
                      cfg['entry_points']['nova.api.extra_spec_validators'])

    def test_validators_accept_and_refuse_like_nova_api(self):
        self.useFixture(_Registered())
        validators.validate('hw:cpu_mode', 'host-passthrough')
        validators.validate('hw:cpu_model', 'Westmere')
        self.assertRaises(nova_exception.ValidationError,
                          validators.validate, 'hw:cpu_mode', 'fastest')


class _Registered(fixtures.Fixture):
    """nova's registry with our validators, as its loader would add them."""

    def _setUp(self):
        saved = dict(validators.VALIDATORS)
        self.addCleanup(lambda: (validators.VALIDATORS.clear(),
                                 validators.VALIDATORS.update(saved)))
        for validator in extra_specs.register():
            validators.VALIDATORS[validator.name] = validator
