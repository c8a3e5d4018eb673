"""The cloud's routes of the functional-validation sheet (docs/contracts.md section 2).

The tool pushes and pulls cells on `/api/cells/...`; the office (the harness's
mutator and snapshots) reads and edits one cell on `/api/admin/cells/<id>`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from .cell_validation import parse_cell_edit, parse_cell_push
from .cells import CellStore
from .config import CloudConfig
from .validation import parse_int_arg, parse_json_object


def register_cell_routes(app: Flask, cells: CellStore, config: CloudConfig) -> None:
    @app.post("/api/cells/push")
    def push_cells() -> Any:
        items = parse_cell_push(parse_json_object(request.get_data()), config.max_push_items)
        return {"results": cells.push(items)}

    @app.get("/api/cells/pull")
    def pull_cells() -> Any:
        return cells.pull(parse_int_arg(request.args, "subsystemId"))

    @app.get("/api/cells/changes")
    def cell_changes() -> Any:
        return cells.changes(parse_int_arg(request.args, "subsystemId"), parse_int_arg(request.args, "since"))

    @app.get("/api/admin/cells/<int:cell_id>")
    def get_cell(cell_id: int) -> Any:
        return cells.get_cell(cell_id)

    @app.patch("/api/admin/cells/<int:cell_id>")
    def edit_cell(cell_id: int) -> Any:
        return cells.edit_cell(cell_id, parse_cell_edit(parse_json_object(request.get_data())))
