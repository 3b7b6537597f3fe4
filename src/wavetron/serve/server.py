"""Run the HTTP server (uvicorn) and, when asked, the Wyoming server, on one event loop over one engine."""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
from urllib.parse import urlparse

from .app import ServeOptions, create_app
from .engine import Engine
from .metrics import Metrics


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port), made here so the real port is known."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


async def serve(engine: Engine, options: ServeOptions, host: str, port: int, wyoming: str | None = None,
                log_level: str = "warning") -> None:
    """Serve until interrupted (SIGINT/SIGTERM); prints one ``listening on`` line per server once it accepts."""
    import uvicorn

    metrics = Metrics()
    app = create_app(engine, options, metrics)
    sock = bind(host, port)
    config = uvicorn.Config(app, log_level=log_level, access_log=False, timeout_graceful_shutdown=3,
                            server_header=False)
    server = uvicorn.Server(config)
    http_task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not http_task.done():
        await asyncio.sleep(0.05)
    if http_task.done():
        await http_task  # raises what stopped it
        return
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    print(f"wavetron serve: listening on http://{shown}:{bound_port} (voices: {', '.join(engine.voices)}; "
          f"{engine.workers} worker(s), queue {engine.queue})", flush=True)
    wyoming_task = None
    if wyoming:
        from .wyoming import start_wyoming

        address, wyoming_task = await start_wyoming(wyoming, engine, metrics, options.max_chars)
        print(f"wavetron serve: wyoming listening on {address}", flush=True)
        wyoming_host = urlparse(wyoming).hostname
        if wyoming_host is not None and not is_loopback(wyoming_host):
            print(f"wavetron serve: warning: Wyoming on {wyoming_host} has no authentication (the protocol has none)",
                  file=sys.stderr, flush=True)
    if not is_loopback(host) and options.api_key is None:
        print(f"wavetron serve: warning: listening on {host} with no --api-key: anyone who reaches it can use it",
              file=sys.stderr, flush=True)
    try:
        await http_task
    finally:
        if wyoming_task is not None:
            wyoming_task.cancel()
        engine.close()


__all__ = ["bind", "is_loopback", "serve"]
