"""The real-time hub: WebSocket endpoints, broker and local connection registry.

``protocol`` (wire frames and close codes), ``broker`` / ``redis_broker`` (how workers hear
each other; the backend is chosen from the URL), ``inbox`` (what channels share),
``session_channel`` / ``event_channel`` (per-session and event-wide state and fan-out),
``connection`` (one socket: direct writes, a bounded overflow queue), ``transport`` (the only
module touching uvicorn's internals), ``node`` (this worker's hub), ``endpoints`` (handshake
and auth), ``store`` (database reads). The protocol for clients is in ``docs/realtime.md``.
"""
