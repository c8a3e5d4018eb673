"""How the local backend starts the reference system: its cloud, its PLC simulator and its tool."""

from __future__ import annotations

from battle.adapters.base import LaunchContext, LocalService

HEALTH_ROUTE = "/api/health"  # tool and cloud: 200 when serving


def reference_setup(context: LaunchContext) -> list[tuple[str, ...]]:
    """The seed generator writes the cloud's seed, the tool's database and the PLC's tags into seed_dir."""
    return [(context.python, "-m", "seed", "generate", "--out", str(context.seed_dir),
             "--seed", context.knobs_env["SEED"])]


def reference_services(context: LaunchContext) -> list[LocalService]:
    """In dependency order: the cloud, the PLC simulator, the tool (which needs both)."""
    host, ports, data, seed_dir = context.host, context.ports, context.data_dir, context.seed_dir
    bugs = context.knobs_env.get("BATTLE_SUT_BUGS", "")
    return [
        LocalService("cloud", (context.python, "-m", "sut.cloud"), env={
            "CLOUD_HOST": host, "CLOUD_PORT": str(ports["cloud"]), "CLOUD_SQLITE_PATH": str(data / "cloud" / "cloud.db"),
            "CLOUD_SEED_FILE": str(seed_dir / "cloud_seed.json"), "CLOUD_API_KEYS": context.cloud_api_key,
            "BATTLE_SUT_BUGS": bugs}, ready_path=HEALTH_ROUTE, data_dir=data / "cloud"),
        LocalService("plc-sim", (context.python, "-m", "sut.plcsim"), env={
            "PLC_HOST": host, "PLC_PORT": str(ports["plc-sim"]), "PLC_TAGS_FILE": str(seed_dir / "plc_tags.json"),
            "DELAY_MS": context.knobs_env["DELAY_MS"], "PLC_DELAY_FILE": str(context.plc_delay_file)}),
        LocalService("tool", (context.python, "-m", "sut.tool"), env={
            "TOOL_HOST": host, "TOOL_PORT": str(ports["tool"]), "TOOL_DATA_DIR": str(data / "tool"),
            "TOOL_SEED_DIR": str(seed_dir), "TOOL_CLOUD_URL": context.tool_cloud_url,
            "TOOL_CLOUD_API_KEY": context.cloud_api_key, "TOOL_PLC_HOST": host, "TOOL_PLC_PORT": str(ports["plc-sim"]),
            "BATTLE_SUT_BUGS": bugs}, ready_path=HEALTH_ROUTE, data_dir=data / "tool", seed_dir=seed_dir),
    ]
