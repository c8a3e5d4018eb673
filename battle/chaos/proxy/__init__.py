"""The cloud-proxy: fault injection on the tool→cloud path (`python -m battle.chaos.proxy`)."""

from battle.chaos.proxy.client import ProxyClient
from battle.chaos.proxy.config import ProxyConfig
from battle.chaos.proxy.server import CloudProxy
from battle.chaos.proxy.state import ProxyMode, ProxyState

__all__ = ["CloudProxy", "ProxyClient", "ProxyConfig", "ProxyMode", "ProxyState"]
