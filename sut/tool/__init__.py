"""The reference field tool: the system under test that battle soaks (docs/contracts.md section 3).

Entry point `python -m sut.tool`; Flask app factory `sut.tool.app:create_app`.
"""
