"""Deterministic generator of an MCM02-shaped commissioning site (docs/contracts.md section 1).

Kept import-light: other parts import `seed.schema` for the data formats only.
Library entry points live in `seed.generate` (`generate_site`, `write_site`).
"""
