"""Finding Ray and the cluster: every way this fails becomes a :class:`RayUnavailable` with one sentence.

Why a TCP check before ``ray.init``: for an address where nothing listens Ray retries for about a
minute before it gives up, and says so in a traceback; the user who typed a wrong address (or
whose head is down) should read what is wrong at once, and nothing queued is touched.
"""

from __future__ import annotations

import socket
from types import ModuleType
from typing import Any

#: How to get Ray, in the words the message uses.
INSTALL_HINT = "pip install '.[ray]' (or pip install 'ray==2.60.0')"
#: Ray's own words for "look for a cluster on this machine".
LOCAL_ADDRESSES = ("auto", "local")
#: Seconds the reachability check waits for the head's port.
CONNECT_TIMEOUT_S = 5.0


class RayUnavailable(RuntimeError):
    """Ray is not installed, or no cluster answers at the address: the dispatcher cannot start."""


def import_ray() -> ModuleType:
    """``ray``, or :class:`RayUnavailable` saying how to install it."""
    try:
        import ray
    except ImportError as e:
        raise RayUnavailable(f"--ray needs Ray, which is not installed here ({e}); install it with {INSTALL_HINT}, "
                             f"or run a local worker: python -m kdcore worker") from None
    return ray


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` -> (host, port); a clear ValueError naming ``--ray`` otherwise."""
    host, sep, port = address.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--ray: expected 'auto' or HOST:PORT of a Ray head (e.g. 10.0.0.5:6379), got {address!r}")
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`RayUnavailable` unless something accepts TCP at ``address`` (``auto`` is Ray's to find)."""
    if address in LOCAL_ADDRESSES:
        return
    try:
        host, port = split_address(address)
    except ValueError as e:
        raise RayUnavailable(str(e)) from None
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        raise RayUnavailable(f"--ray {address}: no Ray head answers there ({e.strerror or e}); start one with "
                             f"`ray start --head` on that machine, or check the address and the firewall") from None


def connect(address: str, **init_options: Any) -> ModuleType:
    """``ray``, connected to the cluster at ``address`` as a driver; :class:`RayUnavailable` if it cannot be."""
    ray = import_ray()
    check_reachable(address)
    try:
        ray.init(address=address, **init_options)
    except (ConnectionError, RuntimeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        hint = ("no Ray cluster runs on this machine; start one with `ray start --head`"
                if address in LOCAL_ADDRESSES else "is a Ray head running there, of the same Ray version?")
        raise RayUnavailable(f"--ray {address}: could not join the cluster ({first}); {hint}") from None
    return ray
