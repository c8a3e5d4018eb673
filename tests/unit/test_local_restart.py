from battle.backends.local_restart import LocalRestartPolicy
from battle.common.jsonl import JsonlWriter, read_jsonl


class FakeManager:
    def __init__(self):
        self.pids = {"tool": 100}
        self.codes = {"tool": None}
        self.started = []

    def pid(self, name):
        return self.pids[name]

    def returncode(self, name):
        return self.codes[name]

    def start(self, name):
        self.started.append(name)
        self.pids[name], self.codes[name] = 101, None
        return 101

    def exit(self, code):
        self.pids["tool"], self.codes["tool"] = None, code


def policy(tmp_path, manager):
    return LocalRestartPolicy(manager, ["tool"], JsonlWriter(tmp_path / "events.jsonl"), delay_s=0.0,
                              clock=lambda: 1.7e9)


def test_a_crash_is_restarted_once_and_recorded(tmp_path):
    manager = FakeManager()
    watcher = policy(tmp_path, manager)
    watcher.check_once()
    manager.exit(134)  # os._exit(134): the crash bug
    watcher.check_once()
    watcher.check_once()
    assert manager.started == ["tool"] and watcher.restarts == {"tool": 1}
    records, _ = read_jsonl(tmp_path / "events.jsonl")
    assert [(r["source"], r["action"]) for r in records] == [("docker", "die"), ("docker", "start")]
    assert records[0]["exitCode"] == 134


def test_chaos_kills_and_graceful_stops_are_left_to_chaos(tmp_path):
    for code in (-9, 0, -15):
        manager = FakeManager()
        watcher = policy(tmp_path, manager)
        watcher.check_once()
        manager.exit(code)
        watcher.check_once()
        assert manager.started == [], code
