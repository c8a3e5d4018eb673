"""SUT_ADAPTER picks the adapter: checked before anything starts, recorded in manifest.json."""

from __future__ import annotations

import os

import pytest

from battle import cli
from battle.adapters.base import SutEndpoints
from battle.adapters.reference import ReferenceAdapter
from battle.adapters.registry import AdapterSelectionError, build_adapter, choose_adapter
from battle.backends.manifest import build_manifest
from battle.config import ConfigError, load_catalogue, meant_knobs, resolve
from battle.gating import plan_and_gates

ENDPOINTS = SutEndpoints("http://127.0.0.1:9", "http://127.0.0.1:9")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    knobs = tuple(load_catalogue().knobs)
    for name in [*knobs, *(n for n in os.environ if meant_knobs(n, knobs))]:
        monkeypatch.delenv(name, raising=False)


def test_the_reference_adapter_is_the_default_by_name_and_by_path():
    assert resolve({}).value("SUT_ADAPTER") == "reference"
    assert choose_adapter("reference").adapter_class is ReferenceAdapter
    assert choose_adapter("battle.adapters.reference:ReferenceAdapter").adapter_class is ReferenceAdapter
    assert isinstance(build_adapter("", ENDPOINTS), ReferenceAdapter)


def test_an_adapter_from_another_package_is_built():
    adapter = build_adapter("tests.unit.adapter_fixtures.half_done:RenamedReference", ENDPOINTS)
    assert adapter.name == "renamed" and adapter.endpoints == ENDPOINTS


@pytest.mark.parametrize("value, says", [
    ("nosuch", "neither 'package.module:Class' nor a known adapter name"),
    ("no_such_package.adapter:Thing", "module 'no_such_package.adapter' not found"),
    ("battle.adapters.reference:Missing", "has no attribute 'Missing'"),
    ("tests.unit.adapter_fixtures.half_done:NotAnAdapter", "is a class, not a subclass of"),
    ("battle.adapters.reference:QUEUE_ROUTE", "is a str, not a subclass of"),
    ("battle.adapters.base:SutAdapter", "does not implement"),
    ("battle.adapters.reference:", "needs both a module and a class"),
])
def test_a_bad_adapter_is_refused_saying_what_is_wrong_and_what_is_accepted(value, says):
    with pytest.raises(AdapterSelectionError) as caught:
        choose_adapter(value)
    assert says in str(caught.value)
    with pytest.raises(ConfigError) as config_error:
        resolve({"SUT_ADAPTER": value})
    text = str(config_error.value)
    assert f"SUT_ADAPTER={value!r}" in text and says in text
    assert "'package.module:Class'" in text and "known here: reference" in text


def test_a_run_with_a_bad_adapter_stops_with_exit_2_before_anything_starts(capsys, monkeypatch, tmp_path):
    import battle.backends.local as local

    def never(*args, **kwargs):
        raise AssertionError("the stack must not be built")

    monkeypatch.setattr(local, "build_local_stack", never)
    monkeypatch.setenv("SUT_ADAPTER", "no_such_package.adapter:Thing")
    runs = tmp_path / "runs"
    code = cli.main(["run", "--backend", "local", "--scenario", "s1", "--minutes", "4", "--runs-dir", str(runs),
                     "--run-id", "bad-adapter"])
    err = capsys.readouterr().err
    assert code == 2 and "SUT_ADAPTER=" in err and "not found" in err
    assert not runs.exists()


def test_the_manifest_records_the_adapter():
    config = resolve({"SUT_ADAPTER": "tests.unit.adapter_fixtures.half_done:RenamedReference"})
    _plan, decision = plan_and_gates(config)
    manifest = build_manifest(config, "r1", "local", 0.0, decision)
    assert manifest["adapter"] == {"knob": "tests.unit.adapter_fixtures.half_done:RenamedReference",
                                   "class": "tests.unit.adapter_fixtures.half_done:RenamedReference",
                                   "name": "renamed"}
    assert manifest["knobs"]["SUT_ADAPTER"] == "tests.unit.adapter_fixtures.half_done:RenamedReference"
    assert build_manifest(resolve({}), "r2", "local", 0.0, decision)["adapter"]["class"] == (
        "battle.adapters.reference:ReferenceAdapter")


def test_the_local_launch_comes_from_the_adapter(tmp_path):
    from battle.adapters.base import LaunchContext
    from battle.backends.local_stack import FreePorts

    ports = FreePorts()
    context = LaunchContext(python="py", host="127.0.0.1", ports=ports, seed_dir=tmp_path / "seed",
                            data_dir=tmp_path / "data", tool_cloud_url="http://127.0.0.1:1", cloud_api_key="k",
                            knobs_env=resolve({}).to_env(), plc_delay_file=tmp_path / "data" / "delay")
    services = ReferenceAdapter.local_services(context)
    assert [s.name for s in services] == ["cloud", "plc-sim", "tool"]
    assert [s.command[1:] for s in services] == [("-m", "sut.cloud"), ("-m", "sut.plcsim"), ("-m", "sut.tool")]
    tool = services[2]
    assert tool.env["TOOL_PORT"] == str(ports["tool"]) and tool.env["TOOL_PLC_PORT"] == str(ports["plc-sim"])
    assert tool.env["TOOL_CLOUD_URL"] == "http://127.0.0.1:1" and services[1].ready_path is None
    assert ReferenceAdapter.local_setup(context) == [
        ("py", "-m", "seed", "generate", "--out", str(tmp_path / "seed"), "--seed", "1")]


def test_a_local_launch_without_the_services_chaos_targets_is_refused_before_anything_runs(tmp_path):
    from battle.backends.local_stack import StackError, build_local_stack

    config = resolve({"SUT_ADAPTER": "tests.unit.adapter_fixtures.half_done:ToolOnly"})
    with pytest.raises(StackError, match="launches no cloud, plc-sim service"):
        build_local_stack(config, tmp_path / "run")
    assert not (tmp_path / "run" / "seed").exists()
