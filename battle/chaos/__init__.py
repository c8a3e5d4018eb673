"""Chaos: the seeded fault plan (plan.py), the fault kinds, the runtime drivers, the plan runner,
the cloud-proxy and the chaos API. See docs/chaos.md."""
