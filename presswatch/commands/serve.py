"""`presswatch serve`: the JSON API, the Atom feed and the web pages, with uvicorn.

Owns composing the app from the command line's Runtime (settings, sessions, WARC
store) and running it; the app itself is `search_api.app.create_app`. With
`--workers N` uvicorn runs N processes, each building its own app through `web_app`
from settings in the environment (the command's flags are passed on that way), since
worker processes cannot share one app object.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Command-line overrides and the environment variables that carry them to workers.
FLAG_ENV = {
    "data_dir": "PRESSWATCH_DATA_DIR",
    "database_url": "PRESSWATCH_DATABASE_URL",
    "sources": "PRESSWATCH_SOURCES",
}


def web_app() -> FastAPI:
    """The app for one uvicorn worker process, from the environment's settings."""
    from presswatch.runtime import Runtime
    from presswatch.settings import load_settings
    from search_api.app import create_app

    runtime = Runtime(load_settings())
    runtime.require_initialized()
    return create_app(runtime.settings, sessions=runtime.sessions, warc=runtime.warc)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""

    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[
            str, typer.Option(help="Address to listen on; 0.0.0.0 for every interface.")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
        proxy_headers: Annotated[
            bool,
            typer.Option(
                help="Trust X-Forwarded-* from the proxy in front (for links in the feed)."
            ),
        ] = False,
        workers: Annotated[
            int, typer.Option(min=1, max=64, help="Worker processes (about one per CPU).")
        ] = 1,
    ) -> None:
        """Serve the API (/api, docs at /api/docs), the Atom feed and the web pages."""
        # Imported here: the CLI module imports this one, and uvicorn and FastAPI are
        # needed by this command only.
        import uvicorn

        from presswatch.cli import get_runtime
        from search_api.app import create_app

        runtime = get_runtime(ctx)
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
            web = create_app(runtime.settings, sessions=runtime.sessions, warc=runtime.warc)
            uvicorn.run(web, **options)  # type: ignore[arg-type]
            return
        for key, value in (ctx.find_root().obj or {}).items():
            if key in FLAG_ENV and value is not None:
                os.environ[FLAG_ENV[key]] = str(value)
        uvicorn.run(
            "presswatch.commands.serve:web_app",
            factory=True,
            workers=workers,
            **options,  # type: ignore[arg-type]
        )
