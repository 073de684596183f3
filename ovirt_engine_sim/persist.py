"""Save/load the simulator state to state_dir/state.json (CLI --persist).

Entities are stored as the SDK's XML (writer/reader round trip), the
simulator-only ``_sim_`` attributes as JSON where they are plain data, and
disk layers as their range maps (image files stay in state_dir/images).
Pending timers are fired before saving, so saved state is settled.
"""

import enum
import itertools
import json
import os

from ovirtsdk4 import reader
from ovirtsdk4 import types
from ovirtsdk4 import writer

import ovirtsdk4.readers  # noqa: F401
import ovirtsdk4.writers  # noqa: F401

from ovirt_engine_sim import model
from ovirt_engine_sim.volumes import Layer

STATE_FILE = 'state.json'
SKIP = ('image_transfers',)


def _sim_attrs(obj):
    out = {}
    for k, v in vars(obj).items():
        if not k.startswith('_sim_'):
            continue
        if isinstance(v, enum.Enum):
            out[k] = {'enum': type(v).__name__, 'value': v.value}
            continue
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            continue
        out[k] = v
    return out


def save(sim):
    store = sim.store
    with store.lock:
        for _, _, key, _ in list(store._timers):
            store.complete(key)
        data = {'collections': {}, 'layers': [], 'next_event': store.last_event_id() + 1}
        for name in model.COLLECTIONS:
            if name in SKIP:
                continue
            items = []
            for obj in getattr(store, name).values():
                items.append({'xml': writer.Writer.write(obj), 'sim': _sim_attrs(obj)})
            data['collections'][name] = items
        for layer in sim.volumes.layers.values():
            data['layers'].append({'id': layer.id, 'size': layer.size,
                                   'base': layer.base.id if layer.base else None,
                                   'ranges': layer.ranges,
                                   'shared': bool(getattr(layer, 'shared', False))})
    path = os.path.join(sim.state_dir, STATE_FILE)
    with open(path + '.tmp', 'w') as f:
        json.dump(data, f)
    os.replace(path + '.tmp', path)
    return path


def load(sim):
    """Replace the scenario inventory by state.json if there is one."""
    path = os.path.join(sim.state_dir, STATE_FILE)
    if not os.path.exists(path):
        return False
    with open(path) as f:
        data = json.load(f)
    store = sim.store
    with store.lock:
        for name, items in data['collections'].items():
            table = getattr(store, name)
            table.clear()
            for item in items:
                obj = reader.Reader.read(item['xml'])
                for k, v in item['sim'].items():
                    if isinstance(v, dict) and set(v) == {'enum', 'value'}:
                        v = getattr(types, v['enum'])(v['value'])
                    setattr(obj, k, v)
                table[obj.id] = obj
        store._event_ids = itertools.count(data.get('next_event', 1000))
        vols = sim.volumes
        vols.layers.clear()
        for spec in data['layers']:
            layer = Layer(spec['id'], os.path.join(vols.directory, '%s.img' % spec['id']),
                          spec['size'])
            layer.ranges = [list(r) for r in spec['ranges']]
            layer.shared = spec['shared']
            vols.layers[layer.id] = layer
        for spec in data['layers']:
            if spec['base']:
                vols.layers[spec['id']].base = vols.layers.get(spec['base'])
    return True
