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

"""The console path Horizon's console tab takes, in a real browser.

nova's own ``NovaWebSocketProxy`` (what nova-novncproxy runs) serves
Debian's noVNC (``/usr/share/novnc``, nova-novncproxy's default web root)
from this test process; headless Chromium (Debian's ``chromium``, driven by
selenium through Debian's ``chromium-driver``) opens the URL that nova's
``os-remote-consoles`` API returns (what ``openstack console url show``
prints), for a server on a real libvirt guest and for one on an oVirt VM of
the engine simulator. Each must reach noVNC's connected state, show a
framebuffer that is not blank (the canvas's pixels are read), and connect
again after a reload of the page with the same token.

Set ``NOVA_OVIRT_SCREENSHOT_DIR`` to keep a screenshot of each console
(the documentation's images come from there).
"""

import os
import shutil
import time

import fixtures
from selenium import webdriver
from selenium.webdriver.chrome import service as chrome_service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.fixtures import novncproxy
from tests.functional import base as fbase
from tests.functional import ovirt_base

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
CHROMIUM_FLAGS = ('--headless', '--no-sandbox', '--disable-gpu',
                  '--disable-quic', '--no-first-run',
                  '--disable-background-networking',
                  '--disable-component-update', '--disable-sync',
                  '--window-size=1024,768')
#: Seconds for noVNC to connect (a TCG guest on a busy machine is slow).
CONNECT_TIMEOUT = 90

# Distinct colours and non-black pixels of noVNC's canvas, sampled on a
# grid (reading every pixel of a large canvas through WebDriver is slow).
CANVAS_STATS_JS = """
const canvas = document.querySelector('#screen canvas');
if (!canvas || !canvas.width) { return null; }
const data = canvas.getContext('2d').getImageData(
    0, 0, canvas.width, canvas.height).data;
const colours = new Set();
let lit = 0, samples = 0;
for (let y = 0; y < canvas.height; y += 2) {
  for (let x = 0; x < canvas.width; x += 2) {
    const i = (y * canvas.width + x) * 4;
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    if (data[i] + data[i + 1] + data[i + 2] > 60) { lit++; }
    samples++;
  }
}
return [canvas.width, canvas.height, colours.size, lit, samples];
"""


class ConsoleBrowserTest(ovirt_base.OvirtPoolFunctionalTestBase):
    """noVNC in Chromium through nova-novncproxy, for both backends."""

    TEST_TIMEOUT = 600
    WAIT_TIMEOUT = 120

    def setUp(self):
        for path in (novncproxy.NOVNC_WEB, CHROMIUM, CHROMEDRIVER):
            # Installed by bindep.txt in CI: a missing one is a failure.
            self.assertTrue(os.path.exists(path), '%s is missing' % path)
        self.novnc = novncproxy.NoVncProxy()
        super().setUp()
        self.useFixture(self.novnc)
        self.browser = self._browser()

    def _before_compute_start(self):
        super()._before_compute_start()
        # nova-compute builds console URLs from it.
        self.flags(novncproxy_base_url=self.novnc.base_url, group='vnc')

    def _browser(self):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
        profile = self.useFixture(fixtures.TempDir()).path
        options.add_argument('--user-data-dir=%s' % profile)
        browser = webdriver.Chrome(
            service=chrome_service.Service(executable_path=CHROMEDRIVER),
            options=options)
        self.addCleanup(browser.quit)
        browser.set_page_load_timeout(60)
        return browser

    def console_url(self, server):
        """What ``openstack console url show`` prints: the API's URL."""
        console = self.api.api_post(
            '/servers/%s/remote-consoles' % server['id'],
            {'remote_console': {'protocol': 'vnc', 'type': 'novnc'}}
        ).body['remote_console']
        self.assertTrue(console['url'].startswith(self.novnc.base_url),
                        console['url'])
        return console['url']

    def status(self):
        return self.browser.find_element(By.ID, 'status').text

    def wait_connected(self, reloads=2):
        """noVNC's status line says connected; the canvas's statistics.

        Chromium cancels a page's requests with ERR_NETWORK_CHANGED when a
        network interface comes or goes on the machine (the other test
        worker's bridges and taps): that is the test machine, not the
        console, so the page is loaded again (at most ``reloads`` times).
        """
        log = []

        def connected_or_network_changed(browser):
            log.extend(browser.get_log('browser'))
            if any('ERR_NETWORK_CHANGED' in entry['message']
                   for entry in log):
                return 'network changed'
            return self.status().startswith('Connected')
        try:
            outcome = WebDriverWait(self.browser, CONNECT_TIMEOUT, 0.5).until(
                connected_or_network_changed)
        except Exception:
            # The browser's console says why a page stays at 'Loading'
            # (a module that did not load) or fails to connect.
            self.fail('noVNC did not connect; its status: %r; browser '
                      'console: %s' % (self.status(), log))
        if outcome == 'network changed':
            self.assertGreater(reloads, 0, 'noVNC did not connect; the '
                               'browser console: %s' % log)
            self.browser.refresh()
            return self.wait_connected(reloads - 1)
        return self.wait_drawn()

    def wait_drawn(self):
        """Wait for a framebuffer that is not blank (a guest's screen may
        take a moment to show its first text)."""
        deadline = time.monotonic() + CONNECT_TIMEOUT
        stats = None
        while time.monotonic() < deadline:
            stats = self.browser.execute_script(CANVAS_STATS_JS)
            if stats and stats[2] >= 2 and stats[3] >= 20:
                return stats
            time.sleep(1)
        self.fail('the console stays blank: [width, height, colours, lit '
                  'samples, samples] = %s' % (stats,))

    def check_console(self, server, name):
        url = self.console_url(server)
        self.browser.get(url)
        stats = self.wait_connected()
        self.assertNotIn('Something went wrong', self.status())
        self.screenshot(name)
        # A reload with the same token connects again.
        self.browser.refresh()
        self.wait_connected()
        return stats

    def screenshot(self, name):
        target = os.environ.get('NOVA_OVIRT_SCREENSHOT_DIR')
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            name + '.png')
        self.assertTrue(self.browser.save_screenshot(path))
        self.assertGreater(os.path.getsize(path), 1000)
        if target:
            os.makedirs(target, exist_ok=True)
            shutil.copy(path, os.path.join(target, name + '.png'))

    def test_libvirt_guest_console(self):
        server = self._boot(flavor_id='ovirt-pool-kvm')
        self.assertEqual(fbase.NODES[0], self.node_of(server))
        self.wait_for_boot(server)
        width, height, colours, lit, _ = self.check_console(
            server, 'console-libvirt')
        # The guest's VGA screen (SeaBIOS, SYSLINUX, the kernel's text).
        self.assertGreaterEqual(width, 640)
        self.assertGreater(lit, 20)
        self.assertTrue(self.status().startswith('Connected to QEMU'),
                        self.status())

    def test_ovirt_vm_console(self):
        server = self._boot_ovirt()
        vm = self.sim_vm(server)
        width, height, colours, lit, samples = self.check_console(
            server, 'console-ovirt')
        # The simulator's screen: 640x480, colour bars, the VM's name.
        self.assertEqual((640, 480), (width, height))
        self.assertGreater(colours, 7)
        self.assertGreater(lit, samples // 4)
        # noVNC names the desktop the relay's ServerInit announced.
        self.assertEqual('Connected to ' + vm.name, self.status())
        # A made-up token gets no console.
        self.browser.get(self.console_url(server).split('token')[0] +
                         'token%3Dnot-a-token')
        WebDriverWait(self.browser, CONNECT_TIMEOUT, 0.5).until(
            lambda b: self.status() in ('Disconnected', 'Something went '
                                        'wrong, connection is closed'))
