"""`presswatch serve`: the JSON API, the Atom feed and the web pages, with uvicorn.

Owns composing the app from the command line's Runtime (settings, sessions, WARC
store) and running it; the app itself is `search_api.app.create_app`. With
`--workers N` uvicorn runs N processes, each building its own app through `web_app`
from settings in the environment (the command's flags are passed on that way), since
worker processes cannot share one app object.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from presswatch.commands.common import fail, get_runtime, port_problem

if TYPE_CHECKING:
    from fastapi import FastAPI

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Command-line overrides and the environment variables that carry them to workers.
FLAG_ENV = {
    "data_dir": "PRESSWATCH_DATA_DIR",
    "database_url": "PRESSWATCH_DATABASE_URL",
    "sources": "PRESSWATCH_SOURCES",
}


def web_app() -> FastAPI:
    """The app for one uvicorn worker process, from the environment's settings."""
    from presswatch.egress import resolve_addresses
    from presswatch.runtime import Runtime
    from presswatch.save_runner import command_saver
    from presswatch.settings import load_settings
    from search_api.app import create_app

    runtime = Runtime(load_settings())
    runtime.require_initialized()
    return create_app(
        runtime.settings,
        sessions=runtime.sessions,
        warc=runtime.warc,
        resolve_host=resolve_addresses,
        saver=command_saver(runtime.settings),
    )


def link_base(public_url: str | None, host: str, port: int) -> tuple[str | None, str | None]:
    """Where the feed's, the TimeMaps' and the TimeGates' links start, and the warning to
    print: `public_url` when set; else the address this server listens on, which is
    right for a reader on this machine or network (a Memento client cannot follow a
    relative TimeMap) and, unlike the request's Host header, cannot be forged by a
    client. Listening on every interface names no address: links stay relative."""
    if public_url:
        return public_url, None
    if host in ("0.0.0.0", "::", ""):
        return None, (
            "presswatch serve: PRESSWATCH_PUBLIC_URL is unset and --host names no single "
            "address: links in the feed and in Memento answers stay relative; set "
            "PRESSWATCH_PUBLIC_URL to the address readers use"
        )
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    return base, (
        f"presswatch serve: PRESSWATCH_PUBLIC_URL is unset: links in the feed and in "
        f"Memento answers start with {base}; set PRESSWATCH_PUBLIC_URL to the address "
        "readers use (e.g. behind a proxy)"
    )


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""

    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[
            str,
            typer.Option(
                metavar="ADDRESS", help="Address to listen on; 0.0.0.0 for every interface."
            ),
        ] = "127.0.0.1",
        port: Annotated[
            int, typer.Option(min=1, max=65535, metavar="PORT", help="TCP port.")
        ] = 8000,
        proxy_headers: Annotated[
            bool,
            typer.Option(
                "--proxy-headers",  # a plain flag: off unless given
                metavar="",
                show_default=False,
                help="Trust X-Forwarded-* from the proxy in front (for links in the feed).",
            ),
        ] = False,
        workers: Annotated[
            int,
            typer.Option(min=1, max=64, metavar="N", help="Worker processes (about one per CPU)."),
        ] = 1,
    ) -> None:
        """Serve the API, the Atom feed and the web pages.

        The API is under /api, its documentation at /api/docs."""
        # Imported here: uvicorn and FastAPI are needed by this command only.
        import uvicorn

        from presswatch.egress import resolve_addresses
        from presswatch.save_runner import command_saver
        from search_api.app import create_app

        runtime = get_runtime(ctx)
        problem = port_problem(host, port)
        if problem is not None:
            raise fail(problem, 1)
        base, warning = link_base(runtime.settings.public_url, host, port)
        if warning is not None:
            typer.echo(warning, err=True)
        settings = runtime.settings.model_copy(update={"public_url": base})
        if host not in LOOPBACK and runtime.settings.api_key is None:
            typer.echo(
                f"presswatch serve: listening on {host}; the admin API stays disabled "
                "until PRESSWATCH_API_KEY is set",
                err=True,
            )
        options = {
            "host": host,
            "port": port,
            "log_level": runtime.settings.log_level.lower(),
            "proxy_headers": proxy_headers,
            "server_header": False,
        }
        if workers == 1:
            web = create_app(
                settings,
                sessions=runtime.sessions,
                warc=runtime.warc,
                resolve_host=resolve_addresses,
                saver=command_saver(runtime.settings),
            )
            uvicorn.run(web, **options)  # type: ignore[arg-type]
            return
        for key, value in (ctx.find_root().obj or {}).items():
            if key in FLAG_ENV and value is not None:
                os.environ[FLAG_ENV[key]] = str(value)
        if base is not None:
            os.environ["PRESSWATCH_PUBLIC_URL"] = base
        uvicorn.run(
            "presswatch.commands.serve:web_app",
            factory=True,
            workers=workers,
            **options,  # type: ignore[arg-type]
        )
