"""Free TCP ports on this machine, for a cluster of workers run locally."""

import socket


def free_ports(count: int) -> list[int]:
    """`count` distinct ports that were free a moment ago, for local workers' `TF_CONFIG`.

    Example:

    >>> hosts = [f"localhost:{port}" for port in free_ports(2)]
    """
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports
