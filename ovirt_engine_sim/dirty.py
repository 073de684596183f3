"""Dirty-block tracking between checkpoints (what qemu's dirty bitmaps do).

Each checkpoint of a disk starts an empty set of byte ranges; every later
write to the disk's top layer (an image transfer, a template copy, or a
test's ``Simulator.guest_write`` standing in for the running guest) adds
its range to the sets of every checkpoint of that disk. A backup made
``from_checkpoint_id`` C freezes C's set for each of its disks when it
becomes ready: what imageio serves as ``/extents?context=dirty`` of that
backup's image transfers (ovirt-imageio's dirty extents: start, length,
dirty, zero).
"""

from ovirt_engine_sim.compat import threading


def add_range(ranges, start, end):
    """Union [start, end) into the sorted disjoint list ranges (in place)."""
    if end <= start:
        return
    out = []
    for s, e in ranges:
        if e < start or s > end:
            out.append([s, e])
        else:
            start, end = min(s, start), max(e, end)
    out.append([start, end])
    out.sort()
    ranges[:] = out


class DirtyTracker(object):
    def __init__(self):
        self.lock = threading.Lock()
        # checkpoint id -> disk id -> sorted disjoint [start, end) ranges
        self.since = {}
        # disk id -> image id of its top layer when last seen
        self.layers = {}

    def checkpoint(self, checkpoint_id, disks):
        """Start tracking writes to disks (records with image_id) from now."""
        with self.lock:
            self.since[checkpoint_id] = {d.id: [] for d in disks}
            for d in disks:
                self.layers[d.id] = d.image_id

    def forget(self, checkpoint_id):
        with self.lock:
            self.since.pop(checkpoint_id, None)
            tracked = {d for sets in self.since.values() for d in sets}
            for disk_id in list(self.layers):
                if disk_id not in tracked:
                    del self.layers[disk_id]

    def written(self, disks, layer_id, start, end):
        """A write to layer_id; disks maps disk ids to disk records."""
        if not self.layers:
            return
        with self.lock:
            for disk_id in list(self.layers):
                disk = disks.get(disk_id)
                if disk is None or disk.image_id != layer_id:
                    continue
                for sets in self.since.values():
                    if disk_id in sets:
                        add_range(sets[disk_id], start, end)

    def dirty_since(self, checkpoint_id, disk_id):
        with self.lock:
            return [list(r) for r in self.since.get(checkpoint_id, {}).get(disk_id, [])]


def dirty_extents(dirty, layer):
    """imageio's dirty extents: the layer's size cut at dirty and zero edges."""
    zero = [(s, e, k != 'data') for s, e, k in layer._flat(0, layer.size)]
    edges = {0, layer.size}
    for s, e in dirty:
        edges.update((min(s, layer.size), min(e, layer.size)))
    for s, e, _ in zero:
        edges.update((s, e))
    points = sorted(edges)
    out = []
    zi = 0
    di = 0
    for s, e in zip(points, points[1:]):
        while zi < len(zero) and zero[zi][1] <= s:
            zi += 1
        while di < len(dirty) and dirty[di][1] <= s:
            di += 1
        is_zero = zi >= len(zero) or zero[zi][2]
        is_dirty = di < len(dirty) and dirty[di][0] <= s
        if out and out[-1]['dirty'] == is_dirty and out[-1]['zero'] == is_zero:
            out[-1]['length'] += e - s
        else:
            out.append({'start': s, 'length': e - s, 'dirty': is_dirty,
                        'zero': is_zero})
    return out
