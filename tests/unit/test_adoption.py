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

"""The adoption token's record: stored, checked, removed."""

import testtools

from nova import objects

from nova_ovirt import adoption

NOW = 1_800_000_000


def instance_with(metadata):
    objects.register_all()
    return objects.Instance(metadata=metadata)


class RecordTest(testtools.TestCase):

    def test_record_keeps_the_text_and_strips_back_to_it(self):
        text = adoption.with_record('the operator\'s comment', 'tok',
                                    now=NOW)
        self.assertTrue(text.startswith('the operator\'s comment'))
        self.assertNotIn('tok]', text)
        self.assertTrue(adoption.has_record(text))
        self.assertEqual('the operator\'s comment',
                         adoption.strip_record(text))
        self.assertEqual('', adoption.strip_record(
            adoption.with_record(None, 'tok', now=NOW)))

    def test_only_the_digest_is_stored(self):
        token = adoption.new_token()
        text = adoption.with_record('', token)
        self.assertNotIn(token, text)
        self.assertIn(adoption.digest(token), text)

    def test_a_new_offer_replaces_the_old_one(self):
        text = adoption.with_record('c', 'old', now=NOW)
        text = adoption.with_record(text, 'new', now=NOW)
        request = adoption.AdoptionRequest('vm', 'new')
        adoption.check_record(request, text, now=NOW)
        self.assertEqual(1, text.count('nova-ovirt:adopt'))

    def test_check_refuses_forged_expired_and_missing(self):
        text = adoption.with_record('c', 'right', ttl=60, now=NOW)
        adoption.check_record(adoption.AdoptionRequest('vm', 'right'), text,
                              now=NOW + 59)
        cases = [
            ('wrong', text, NOW, 'does not match'),
            ('right', text, NOW + 61, 'expired'),
            ('right', adoption.strip_record(text), NOW, 'no adoption token'),
        ]
        for token, stored, now, reason in cases:
            e = self.assertRaises(
                adoption.AdoptionRefused, adoption.check_record,
                adoption.AdoptionRequest('vm1', token), stored, now=now)
            self.assertIn('Adoption of VM vm1 refused', str(e))
            self.assertIn(reason, str(e))


class RequestTest(testtools.TestCase):

    def test_ordinary_boot_is_no_request(self):
        self.assertIsNone(adoption.request_of(instance_with({'a': 'b'})))

    def test_request_needs_both_keys(self):
        request = adoption.request_of(instance_with({
            adoption.META_VM: 'vm1', adoption.META_TOKEN: 't'}))
        self.assertEqual(('vm1', 't'), (request.vm_id, request.token))
        e = self.assertRaises(adoption.AdoptionRefused, adoption.request_of,
                              instance_with({adoption.META_VM: 'vm1'}))
        self.assertIn(adoption.META_TOKEN, str(e))

    def test_macs_must_be_exactly_the_vms(self):
        request = adoption.AdoptionRequest('vm1', 't')
        vifs = [{'address': '56:6F:00:00:00:01'}]
        adoption.check_macs(request, vifs, ['56:6f:00:00:00:01'])
        for vm_macs in ([], ['56:6f:00:00:00:01', '56:6f:00:00:00:02'],
                        ['56:6f:00:00:00:09']):
            self.assertRaises(adoption.AdoptionRefused, adoption.check_macs,
                              request, vifs, vm_macs)
