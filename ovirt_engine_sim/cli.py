"""nova-ovirt-engine-sim: run the oVirt engine simulator from a shell."""

import argparse
import json
import logging
import os
import signal
import sys
import threading

from ovirt_engine_sim import scenarios


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One clear line and exit status 2, as for every bad start.
        sys.stderr.write('nova-ovirt-engine-sim: error: %s\n' % message)
        sys.exit(2)


def _parser():
    p = _Parser(prog='nova-ovirt-engine-sim',
                description='Serve a simulated oVirt engine v4 REST API over HTTPS.')
    p.add_argument('--listen', default='127.0.0.1:0',
                   help='HOST:PORT to listen on; port 0 picks a free port')
    p.add_argument('--state-dir', help='directory for ca.pem, nova-ovirt.conf, '
                                       'disk images and state.json (default: temporary)')
    p.add_argument('--scenario', default='default', choices=sorted(scenarios.SCENARIOS))
    p.add_argument('--username', default='admin@internal')
    p.add_argument('--password', default='secret')
    p.add_argument('--password-file',
                   help='read the password from this file (keeps it out of '
                        'the command line; devstack uses it)')
    p.add_argument('--persist', action='store_true',
                   help='write state.json into --state-dir on exit')
    p.add_argument('--delays', help='JSON object overriding state machine delays, '
                                    'e.g. \'{"vm_launch": 2}\'')
    p.add_argument('--latency', type=float, default=0.0,
                   help='seconds added to every API request')
    p.add_argument('--error-rate', type=float, default=0.0,
                   help='fraction of API requests answered with HTTP 503')
    p.add_argument('--outage-after', type=float,
                   help='seconds after start when connections start being refused')
    p.add_argument('--outage-for', type=float, default=30.0,
                   help='length of that outage in seconds (default 30)')
    p.add_argument('--debug', action='store_true', help='log requests')
    return p


def _fail(message):
    sys.stderr.write('nova-ovirt-engine-sim: error: %s\n' % message)
    return 2


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.password_file:
        try:
            with open(args.password_file) as f:
                args.password = f.read().strip()
        except OSError as e:
            return _fail('--password-file: %s' % e)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format='%(asctime)s %(levelname)s %(name)s %(message)s')
    if not 0.0 <= args.error_rate <= 1.0:
        return _fail('--error-rate must be between 0 and 1')
    if args.persist and not args.state_dir:
        return _fail('--persist needs --state-dir')
    delays = None
    if args.delays:
        try:
            delays = json.loads(args.delays)
            if not isinstance(delays, dict):
                raise ValueError('not an object')
        except ValueError as e:
            return _fail('--delays is not a JSON object: %s' % e)
    from ovirt_engine_sim import persist
    from ovirt_engine_sim.simulator import EngineSimulator
    try:
        sim = EngineSimulator(listen=args.listen, state_dir=args.state_dir,
                              scenario=args.scenario, username=args.username,
                              password=args.password, delays=delays)
        if args.persist:
            persist.load(sim)
        sim.start()
    except (OSError, ValueError) as e:
        return _fail('cannot start on %s: %s' % (args.listen, e))
    if args.latency:
        sim.faults.set_latency(args.latency)
    if args.error_rate:
        sim.faults.set_error_rate(args.error_rate)
    timers = []
    if args.outage_after is not None:
        t = threading.Timer(args.outage_after, sim.faults.outage, [args.outage_for])
        t.daemon = True
        t.start()
        timers.append(t)

    done = threading.Event()

    def _stop(signum, frame):
        done.set()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print('URL: %s' % sim.url)
    print('CA: %s' % sim.ca_file)
    print('CONFIG: %s' % os.path.join(sim.state_dir, 'nova-ovirt.conf'))
    sys.stdout.flush()
    while not done.wait(0.5):
        pass
    for t in timers:
        t.cancel()
    if args.persist:
        persist.save(sim)
    sim.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
