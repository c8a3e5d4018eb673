"""The tool's routes of the functional-validation sheet (docs/contracts.md section 3)."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request

from sut.tool.cell_validation import parse_cell_write
from sut.tool.cells import CellSheet
from sut.tool.config import ToolConfig
from sut.tool.errors import BadRequest
from sut.tool.timeutil import utc_iso


def register_cell_routes(app: Flask, config: ToolConfig, sheet: CellSheet) -> None:
    @app.get("/api/cells")
    def list_cells() -> Any:
        raw = request.args.get("subsystemId", str(config.subsystem_id))
        try:
            subsystem = int(raw)
        except ValueError:
            raise BadRequest(f"subsystemId={raw!r} is not an integer; e.g. subsystemId={config.subsystem_id}") from None
        return jsonify({"cells": sheet.list_cells(subsystem)})

    @app.get("/api/cells/<int:cell_id>")
    def get_cell(cell_id: int) -> Any:
        cell = sheet.get_cell(cell_id)
        if cell is None:
            raise BadRequest(f"unknown cell {cell_id}; GET /api/cells lists the cells", status=404)
        return jsonify(cell)

    @app.put("/api/cells/<int:cell_id>")
    def write_cell(cell_id: int) -> Any:
        write = parse_cell_write(request.get_data(cache=False))
        return jsonify(sheet.write_cell(cell_id, write.value, utc_iso()))

    @app.get("/api/cells/queue")
    def cell_queue() -> Any:
        return jsonify(sheet.queue_state())
