"""The ``rollcall`` command line: serve, migrate, demo, apikey, staff."""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import TypeVar

import uvicorn
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth.accounts import create_api_key, create_staff, parse_permissions
from hub.config import ConfigError, Settings, load_settings
from hub.domain.dates import now
from hub.services.demo import load_demo
from storage import accounts
from storage.engine import migrate, run_in_tx

T = TypeVar("T")


def die(message: str, code: int = 2) -> None:
    print(f"rollcall: {message}", file=sys.stderr)
    raise SystemExit(code)


def _with_conn(settings: Settings, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    return run_in_tx(settings.database, fn)


def _migrate(settings: Settings) -> None:
    try:
        migrate(settings.database)
    except Exception as exc:  # noqa: BLE001 - one clear line, not a traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        die(f"cannot prepare the database {settings.database.display}: {first}")


# How ``rollcall serve`` runs uvicorn (the benchmark's empty-endpoint ceiling uses the same).
SERVER_SETTINGS: dict[str, object] = dict(
    loop="uvloop",
    http="httptools",
    ws="websockets-sansio",
    # Frames are small JSON; a deflate context per socket would cost far more memory
    # (browsers always offer it) than it saves bandwidth.
    ws_per_message_deflate=False,
    # The hub sends its own JSON heartbeat (``ping`` every ROLLCALL_WS_PING_S, a silent
    # peer closed after ROLLCALL_WS_DEAD_S: hub/realtime/node.py), which browser code can
    # see; uvicorn's protocol-level pings would only double it, with a timer per socket.
    ws_ping_interval=None,
    ws_ping_timeout=None,
    # Forwarded headers are read by the hub itself, from the proxies in
    # ROLLCALL_TRUSTED_PROXIES only (hub.http.ClientAddress): uvicorn trusts none.
    proxy_headers=False,
    timeout_graceful_shutdown=5,
    # A worker that does not answer the supervisor's ping within this many seconds is killed
    # and replaced; uvicorn's 5 s restarts workers that are merely starting on a busy host.
    timeout_worker_healthcheck=20,
)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    if args.workers < 1:
        die("--workers must be at least 1")
    if args.workers > 1 and not settings.redis_url:
        die(
            f"--workers {args.workers} needs ROLLCALL_REDIS_URL: without Redis, workers cannot "
            "share live updates. Set it, or run one worker."
        )
    if not args.no_migrate:
        _migrate(settings)
    made = _metrics_dir(args.workers)
    try:
        uvicorn.run(
            "hub.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            access_log=args.access_log,
            **SERVER_SETTINGS,  # type: ignore[arg-type]
        )
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def _metrics_dir(workers: int) -> str | None:
    """Prepare ``PROMETHEUS_MULTIPROC_DIR``, where every worker writes its metrics so that
    ``/metrics`` on any worker sums them all: the operator's directory, emptied of the last
    run's files, or with several workers and none given, a fresh one (removed again on exit,
    and returned)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        try:
            os.makedirs(given, exist_ok=True)
            mine = f"_{os.getpid()}.db"  # this process's own, when it serves alone
            for name in os.listdir(given):
                if name.endswith(".db") and not name.endswith(mine):
                    os.unlink(os.path.join(given, name))
        except OSError as exc:
            die(f"PROMETHEUS_MULTIPROC_DIR: cannot use {given!r}: {exc}")
        return None
    if workers < 2:
        return None
    made = tempfile.mkdtemp(prefix="rollcall-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    return made


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> None:
    _migrate(settings)
    print(f"database {settings.database.display} is up to date")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    _migrate(settings)
    result = _with_conn(settings, lambda c: load_demo(c, attendees=args.attendees))
    if not result.created:
        print(
            f"Demo data is already loaded ({result.sessions} sessions, {result.attendees} "
            "attendees); nothing changed.\nThe admin password and API key were printed when it "
            "was first loaded. New ones: `rollcall apikey create --description NAME`, "
            "`rollcall staff create --email E --permissions admin`."
        )
        return
    print(f"Loaded the demo event: {result.sessions} sessions, {result.attendees} attendees.")
    if result.admin_password:
        print(f"Admin login (shown once): {result.admin_email} / {result.admin_password}")
    print(f"API key (shown once):     {result.api_key}")


def cmd_apikey(args: argparse.Namespace, settings: Settings) -> None:
    _migrate(settings)
    if args.action == "create":
        if not args.description.strip():
            die("--description must not be empty")
        desc = args.description
        key_id, key = _with_conn(settings, lambda c: create_api_key(c, description=desc))
        print(f"created API key {key_id} ({args.description}); it is shown only now:")
        print(key)
    elif args.action == "list":
        for row in _with_conn(settings, accounts.api_keys):
            state = "disabled" if row.disabled_at else "active"
            print(f"{row.id}\t{row.prefix}…\t{state}\t{row.created_at:%Y-%m-%d}\t{row.description}")
    elif args.action == "disable":
        found = _with_conn(settings, lambda c: accounts.disable_api_key(c, args.id, now()))
        if found is None:
            die(f"no API key with id {args.id}", 1)
        print(f"API key {args.id} disabled")


def cmd_staff(args: argparse.Namespace, settings: Settings) -> None:
    _migrate(settings)
    if args.action == "create":
        try:
            perms = parse_permissions(args.permissions)
        except ValueError as exc:
            die(f"--permissions: {exc}")
        password = args.password or os.environ.get("ROLLCALL_STAFF_PASSWORD")
        generated = False
        if not password:
            if sys.stdin.isatty():
                password = getpass.getpass("Password for the new staff user: ")
            else:
                password, generated = secrets.token_urlsafe(9), True
        if len(password) < 8:
            die("the password needs at least 8 characters")

        async def make(c: AsyncConnection) -> int:
            if await accounts.staff_by_email(c, args.email) is not None:
                die(f"a staff user {args.email} already exists", 1)
            return await create_staff(c, email=args.email, password=password, permissions=perms,
                                      name=args.name)

        sid = _with_conn(settings, make)
        print(f"created staff user {sid} {args.email} with permissions: {','.join(perms) or '-'}")
        if generated:
            print(f"password (shown once): {password}")
    elif args.action == "list":
        for row in _with_conn(settings, accounts.staff_list):
            state = "disabled" if row.disabled else "active"
            print(f"{row.id}\t{row.email}\t{row.permissions}\t{state}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rollcall", description="Rollcall attendance hub")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the hub under uvicorn")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--log-level", default="info")
    s.add_argument("--access-log", action="store_true")
    s.add_argument("--no-migrate", action="store_true", help=argparse.SUPPRESS)
    s.set_defaults(fn=cmd_serve)

    m = sub.add_parser("migrate", help="bring the schema up to date")
    m.set_defaults(fn=cmd_migrate)

    d = sub.add_parser("demo", help="load demo data (safe to run twice)")
    d.add_argument("--attendees", type=int, default=300)
    d.set_defaults(fn=cmd_demo)

    k = sub.add_parser("apikey", help="create, list or disable API keys")
    ksub = k.add_subparsers(dest="action", required=True)
    kc = ksub.add_parser("create")
    kc.add_argument("--description", required=True)
    ksub.add_parser("list")
    kd = ksub.add_parser("disable")
    kd.add_argument("id", type=int)
    k.set_defaults(fn=cmd_apikey)

    st = sub.add_parser("staff", help="create or list staff users (event users)")
    stsub = st.add_subparsers(dest="action", required=True)
    sc = stsub.add_parser("create")
    sc.add_argument("--email", required=True)
    sc.add_argument("--permissions", default="scan",
                    help="comma-separated: scan,override,moderate,admin")
    sc.add_argument("--name")
    sc.add_argument("--password", help="else ROLLCALL_STAFF_PASSWORD, a prompt, or generated")
    stsub.add_parser("list")
    st.set_defaults(fn=cmd_staff)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        die(str(exc))
    args.fn(args, settings)


if __name__ == "__main__":
    main()
