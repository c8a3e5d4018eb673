"""`battle probe`: check the input (the adapter, the URLs, the log file), run the probe, print the table.

Exit 0 when every capability is ok (or skipped), 1 when one failed, 2 on bad input: an adapter that cannot
be selected, a URL nothing answers at, a tool log that does not exist. Bad input is said in one line,
never with a traceback.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import requests

from battle.adapters.base import AdapterError, BotWrite, SutAdapter, SutEndpoints
from battle.adapters.registry import KNOB, accepted_form, choose_adapter
from battle.probe.capabilities import Probe, ProbeClock, ProbeSettings
from battle.probe.log_follow import ToolLogFollower
from battle.probe.results import all_passed, render_json, render_table

EXIT_PASSED, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
CONNECT_TIMEOUT_S = 3.0


class BadProbeInput(Exception):
    """What the caller gave cannot be probed; the message names the option and what is accepted."""


def add_probe_command(sub: argparse._SubParsersAction) -> None:
    probe = sub.add_parser("probe", help="drive each capability of the adapter once against a running system "
                                         "and print which work (exit 0 all ok, 1 one failed, 2 bad input)")
    probe.add_argument("--tool-url", default=os.environ.get("TOOL_URL"), help="the tool's base URL (env TOOL_URL)")
    probe.add_argument("--cloud-url", default=os.environ.get("CLOUD_URL"),
                       help="the cloud's base URL (env CLOUD_URL)")
    probe.add_argument("--cloud-api-key", default=os.environ.get("CLOUD_API_KEY", ""),
                       help="the cloud's API key, if the adapter needs one (env CLOUD_API_KEY)")
    probe.add_argument("--adapter", default=os.environ.get(KNOB, ""),
                       help=f"package.module:Class or an adapter name (default: env {KNOB}, else reference)")
    probe.add_argument("--tool-log", type=Path, help="the tool's log file, followed for the mapped events")
    probe.add_argument("--wait", type=float, default=30.0, help="seconds each bounded wait allows (default 30)")
    probe.add_argument("--seed", type=int, default=1, help="seed of the probe's writes and cloud edit")
    probe.add_argument("--json", action="store_true", help="print the results as one JSON object")
    probe.set_defaults(func=cmd_probe)


def cmd_probe(args: argparse.Namespace) -> int:
    try:
        adapter = checked_adapter(args)
    except BadProbeInput as exc:
        print(f"battle probe: nothing probed: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    follower = ToolLogFollower(args.tool_log, adapter.vocabulary()) if args.tool_log else None
    probe = Probe(adapter, http_writer(adapter.endpoints.tool_url), follower.seen if follower else None,
                  ProbeClock(time.monotonic, time.sleep), ProbeSettings(wait_s=args.wait, seed=args.seed))
    results = probe.run()
    print(render_json(adapter.name, results) if args.json else render_table(adapter.name, results), flush=True)
    return EXIT_PASSED if all_passed(results) else EXIT_FAILED


def checked_adapter(args: argparse.Namespace) -> SutAdapter:
    for option, url in (("--tool-url", args.tool_url), ("--cloud-url", args.cloud_url)):
        check_answers(option, url)
    if args.tool_log is not None and not args.tool_log.is_file():
        raise BadProbeInput(f"--tool-log {args.tool_log}: no such file (give the file the tool logs to)")
    if not 0 < args.wait <= 600:
        raise BadProbeInput(f"--wait {args.wait:g}: accepted are seconds above 0, up to 600")
    try:
        choice = choose_adapter(args.adapter)
    except AdapterError as exc:
        raise BadProbeInput(f"adapter {args.adapter!r} ({KNOB} / --adapter): {exc}; accepted: {accepted_form()}") \
            from exc
    return choice.adapter_class(SutEndpoints(args.tool_url.rstrip("/"), args.cloud_url.rstrip("/"),
                                             args.cloud_api_key))


def check_answers(option: str, url: str | None) -> None:
    """Something listens at the URL's host and port (the capabilities then say whether it is the system)."""
    if not url:
        raise BadProbeInput(f"{option} is missing: give the base URL, e.g. http://127.0.0.1:5000")
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise BadProbeInput(f"{option} {url}: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadProbeInput(f"{option} {url}: accepted is an http:// or https:// URL with a host")
    try:
        socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise BadProbeInput(f"{option} {url}: nothing answers at {parts.hostname}:{port} ({exc})") from exc


def http_writer(tool_url: str) -> Callable[[BotWrite], int]:
    session = requests.Session()

    def send(write: BotWrite) -> int:
        url = f"{tool_url.rstrip('/')}{write.path}"
        try:
            return session.request(write.method, url, json=dict(write.body), timeout=20).status_code
        except requests.RequestException as exc:
            raise AdapterError(f"{write.method} {url} got no answer: {exc}") from exc

    return send
