"""The ``local`` platform: the client (``client.py``), its file (``platform.py``) and its
simulated audience (``audience.py``)."""

from outreach.clients.local.client import LocalClient
from outreach.clients.local.platform import FAULT_KINDS, LocalPlatform

__all__ = ["FAULT_KINDS", "LocalClient", "LocalPlatform"]
