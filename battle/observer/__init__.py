"""The observer: probes, samples, follows, quiesces, snapshots, gathers evidence and judges."""
