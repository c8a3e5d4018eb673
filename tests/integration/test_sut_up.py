"""`python -m sut up` brings up the reference system on loopback and stops it cleanly on SIGTERM."""

import re
import signal
import subprocess
import sys
import time

import requests


def test_up_prints_urls_serves_and_stops_on_sigterm(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "sut", "up", "--data", str(tmp_path / "d")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(line.startswith("tool") for line in lines):
            lines.append(proc.stdout.readline())
        text = "".join(lines)
        tool = re.search(r"tool\s+(http://\S+)", text).group(1)
        cloud, key = re.search(r"cloud\s+(http://\S+)\s+\(X-API-Key: (\S+)\)", text).groups()
        assert requests.get(f"{tool}/api/health", timeout=5).status_code == 200
        ios = requests.get(f"{tool}/api/ios", params={"subsystemId": 38}, timeout=10).json()["ios"]
        assert len(ios) == 1184
        assert requests.get(f"{cloud}/api/sync/pull", params={"subsystemId": 38}, headers={"X-API-Key": key},
                            timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    children = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert children == []
