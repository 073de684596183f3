"""Cluster CPU types and the flags a running VM needs from its host.

The engine keeps, per cluster level, a list of CPU types (``ServerCPUList``
in vdc_options: level, name, flags, libvirt model, architecture). A VM
starts with the CPU model of its cluster's type and keeps it until it
stops; a migration may only go to a host whose CPU offers every flag of
that model: the scheduler's ``CPU-Level`` filter
(``CpuLevelFilterPolicyUnit``) drops the others, with the detail
``VAR__DETAIL__LOW_CPU_LEVEL`` ("its CPU flags are missing VM's required
CPU flags: ...").

Here each type has a vendor flag and the ``model_<X>`` flags of itself and
of every older type of its vendor, as hosts report them (a Skylake host
also reports ``model_Nehalem``); the secure variants add the speculative
execution mitigations. Simplified, faithful in what matters: a newer
host of the same vendor runs an older type's VM, not the reverse, and
Intel and AMD never mix.
"""

# (name, vendor flag, model flag, extra flags), oldest first per vendor;
# names as the engine's 4.7 cluster level lists them.
_TYPES = (
    ('Intel Nehalem Family', 'vmx', 'model_Nehalem', ()),
    ('Secure Intel Nehalem Family', 'vmx', 'model_Nehalem', ('spec_ctrl', 'ssbd')),
    ('Intel Westmere Family', 'vmx', 'model_Westmere', ()),
    ('Intel SandyBridge Family', 'vmx', 'model_SandyBridge', ()),
    ('Intel Haswell Family', 'vmx', 'model_Haswell-noTSX', ()),
    ('Intel Broadwell Family', 'vmx', 'model_Broadwell-noTSX', ()),
    ('Intel Skylake Client Family', 'vmx', 'model_Skylake-Client', ()),
    ('Intel Skylake Server Family', 'vmx', 'model_Skylake-Server', ()),
    ('Intel Cascadelake Server Family', 'vmx', 'model_Cascadelake-Server', ()),
    ('Intel Icelake Server Family', 'vmx', 'model_Icelake-Server', ()),
    ('AMD Opteron G4', 'svm', 'model_Opteron_G4', ()),
    ('AMD Opteron G5', 'svm', 'model_Opteron_G5', ()),
    ('AMD EPYC', 'svm', 'model_EPYC', ()),
    ('Secure AMD EPYC', 'svm', 'model_EPYC', ('ibpb', 'virt-ssbd')),
)


def flags(cpu_type):
    """The CPU flags a host of this type offers (and a VM of it needs)."""
    found = None
    for index, (name, vendor, _model, extra) in enumerate(_TYPES):
        if name == cpu_type:
            found = index, vendor, extra
            break
    if found is None:
        # An unknown type: only VMs of the very same type match.
        return {'model_%s' % cpu_type}
    index, vendor, extra = found
    models = {model for _n, v, model, _e in _TYPES[:index + 1] if v == vendor}
    return {vendor} | models | set(extra)


def missing(vm_cpu_type, host_cpu_type):
    """Flags a VM started in ``vm_cpu_type`` needs and the host lacks."""
    return sorted(flags(vm_cpu_type) - flags(host_cpu_type))
