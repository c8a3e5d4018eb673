"""HTML building blocks for the reports.

Every value from an artifact is escaped exactly once, here: plain strings are
escaped when they are placed, and `Markup` marks HTML already built from escaped
parts so it is passed through instead of being escaped twice. Artifacts come
from a system under test and a harness that may have crashed half-way, so no
artifact text is ever trusted as markup.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from battle.common.atomic import write_text_atomic as write_file_atomic


class Markup(str):
    """A string of HTML built from escaped parts; placed as is."""


def esc(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[object], sep: str = "") -> Markup:
    return Markup(esc(sep).join(esc(part) for part in parts))


def css_token(value: object) -> str:
    """A class-name fragment from any text (fault kinds, statuses come from artifacts)."""
    token = re.sub(r"[^a-z0-9-]+", "-", str(value).lower()).strip("-")
    return token[:40] or "x"


def tag(name: str, content: object = "", **attrs: object) -> Markup:
    """`<name attrs>content</name>`; attribute names end in `_` when they are Python words (class_)."""
    rendered = "".join(f' {key.rstrip("_").replace("_", "-")}="{esc(value)}"'
                       for key, value in attrs.items() if value is not None)
    return Markup(f"<{name}{rendered}>{esc(content)}</{name}>")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def compact(value: Any, limit: int = 200, items: int = 10) -> str:
    """A one-line human rendering of a JSON value, long lists cut to their first `items`."""

    def render(node: Any, depth: int) -> str:
        if isinstance(node, dict):
            if depth > 2:
                return "{…}"
            return ", ".join(f"{key}: {render(val, depth + 1)}" for key, val in node.items())
        if isinstance(node, list | tuple):
            shown = [render(item, depth + 1) for item in node[:items]]
            more = f", … (+{len(node) - items} more)" if len(node) > items else ""
            return "[" + ", ".join(shown) + more + "]"
        if isinstance(node, float):
            return f"{node:.4g}"
        if isinstance(node, str):
            return node
        return json.dumps(node)

    return truncate(render(value, 0), limit)


def table(headers: Sequence[object], rows: Iterable[Sequence[object]], *, row_classes: Sequence[str] | None = None,
          class_: str = "grid", empty: str = "nothing recorded") -> Markup:
    body_rows = []
    for index, row in enumerate(rows):
        cls = row_classes[index] if row_classes and index < len(row_classes) else None
        cells = "".join(tag("td", cell) for cell in row)
        body_rows.append(Markup(f'<tr class="{esc(cls)}">{cells}</tr>' if cls else f"<tr>{cells}</tr>"))
    if not body_rows:
        return note(empty)
    head = "".join(tag("th", header) for header in headers)
    return Markup(f'<table class="{esc(class_)}"><thead><tr>{head}</tr></thead>'
                  f"<tbody>{''.join(body_rows)}</tbody></table>")


def kv_table(pairs: Iterable[tuple[object, object]]) -> Markup:
    rows = "".join(f"<tr>{tag('th', key)}{tag('td', value)}</tr>" for key, value in pairs)
    return Markup(f'<table class="kv">{rows}</table>')


def section(title: str, body: Iterable[object] | object, anchor: str) -> Markup:
    parts = body if isinstance(body, list | tuple) else [body]
    return Markup(f'<section id="{esc(css_token(anchor))}">{tag("h2", title)}{join(parts)}</section>')


def status(value: object) -> Markup:
    return tag("span", value, class_=f"status status-{css_token(value)}")


def note(text: object, class_: str = "missing") -> Markup:
    return tag("p", text, class_=class_)


def not_recorded(what: str, why: str | None = None) -> Markup:
    return note(f"{what}: not recorded" + (f" ({why})" if why else ""))


def bullet_list(items: Sequence[object], limit: int = 50, class_: str = "problems") -> Markup:
    shown = "".join(tag("li", item) for item in items[:limit])
    more = tag("li", f"… and {len(items) - limit} more", class_="more") if len(items) > limit else ""
    return Markup(f'<ul class="{esc(class_)}">{shown}{more}</ul>')


def fmt_num(value: float | int | None, digits: int = 1, missing: str = "–") -> str:
    if value is None:
        return missing
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1100px;
 padding:16px 24px;color:#1d2430;background:#fff}
h1{font-size:22px;margin:4px 0}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #d8dde5;padding-bottom:3px}
table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 8px;border:1px solid #d8dde5;text-align:left;
 vertical-align:top}th{background:#f2f4f7;font-weight:600}table.kv th{width:180px}
.banner{padding:14px 18px;border-radius:6px;color:#fff;margin:8px 0 4px}
.banner .big{font-size:34px;font-weight:800;letter-spacing:1px}.banner .sub{font-size:15px;opacity:.95}
.v-pass{background:#1e7b34}.v-fail{background:#b3261e}.v-inconclusive{background:#a86500}
.v-error,.v-unreadable,.v-missing{background:#5b2a86}
.status{font-weight:700}.status-pass{color:#1e7b34}.status-fail,.status-error{color:#b3261e}
.status-inconclusive{color:#a86500}.status-unreadable,.status-missing{color:#5b2a86}
tr.row-fail td{background:#fdecea}tr.row-inconclusive td{background:#fff4e0}tr.row-warn td{background:#fff4e0}
tr.row-error td{background:#f1e8f8}
.missing{color:#6b7280;font-style:italic}.error-box{background:#f1e8f8;border-left:4px solid #5b2a86;padding:6px 10px}
.legend span{display:inline-block;margin-right:14px}.swatch{display:inline-block;width:12px;height:12px;
 margin-right:4px;vertical-align:-1px;border:1px solid #999}
svg.chart{background:#fbfcfd;border:1px solid #d8dde5;max-width:100%;height:auto}
.muted{color:#6b7280}ul.problems li{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
"""


def page(title: str, parts: Iterable[object]) -> str:
    """A whole document: inline CSS only, no scripts, nothing fetched from anywhere."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(esc(part) for part in parts) + "\n</body></html>\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Readers (a CI artifact browser, a person) never see half a report; no planted symlink is followed."""
    write_file_atomic(path, text)
