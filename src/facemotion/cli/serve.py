"""``facemotion serve``: the HTTP service and its web page, on uvicorn.

The model and detector are loaded before the port opens, so a wrong ``--model`` fails here with exit code 2
instead of a server that answers 503 forever. FastAPI and uvicorn are imported inside the command (serve extra).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from facemotion.cli._common import DETECTOR_HELP, MODEL_HELP, exit_on_error, fail, setup_logging
from facemotion.cli.app import app

__all__ = ["serve", "SERVE_HELP"]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
"""uvicorn's log levels."""

SERVE_HELP = """Serve emotions over HTTP: POST /v1/predict, a web page at /, the OpenAPI page at /docs.

Examples:

  facemotion serve                                   # http://127.0.0.1:8000 : open it in a browser

  curl -F image=@photo.jpg http://127.0.0.1:8000/v1/predict

  curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg' 'http://127.0.0.1:8000/v1/predict?top_k=3'

  FACEMOTION_API_KEY=secret facemotion serve --host 0.0.0.0 --cors https://example.org

Every option may also be set by a FACEMOTION_* environment variable (FACEMOTION_WORKERS, FACEMOTION_MAX_QUEUE,
FACEMOTION_API_KEY, ...); an option given here wins. Prefer FACEMOTION_API_KEY to --api-key, which other users of
the machine can read in the process list."""


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on; 0.0.0.0 for every interface."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port to listen on (0: any free port)."),
    workers: Optional[int] = typer.Option(None, min=1, help="Inference threads, images processed at once "
                                                            "[default: cores, at most 4]."),
    max_queue: Optional[int] = typer.Option(None, min=0, help="Requests that may wait for a worker; beyond, 503 "
                                                              "[default: 16]."),
    api_key: Optional[str] = typer.Option(None, help="Require this key on /v1/* (X-API-Key or Bearer)."),
    cors: Optional[list[str]] = typer.Option(None, help="Allow browser calls from this origin (repeat; '*' for "
                                                        "any)."),
    max_upload_mb: Optional[float] = typer.Option(None, min=0.001, help="Largest upload in MiB [default: 20]."),
    max_pixels: Optional[int] = typer.Option(None, min=1, help="Largest image in pixels [default: 50,000,000]."),
    timeout: Optional[float] = typer.Option(None, min=0.001, help="Seconds one request may take [default: 30]."),
    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
    detector: Optional[str] = typer.Option(None, help=DETECTOR_HELP),
    detector_model: Optional[Path] = typer.Option(None, help="YuNet .onnx file (else $FACEMOTION_YUNET_MODEL, "
                                                             "else the cache)."),
    log_level: str = typer.Option("info", help=f"uvicorn's log level: {', '.join(LOG_LEVELS)}."),
) -> None:
    """Serve emotions over HTTP (the help shown is SERVE_HELP)."""
    if log_level not in LOG_LEVELS:
        fail(f"--log-level must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    if max_upload_mb is not None and not math.isfinite(max_upload_mb):
        fail(f"--max-upload-mb must be a finite number of MiB, got {max_upload_mb}")
    setup_logging(log_level == "debug")
    try:
        import uvicorn

        from facemotion.serving.app import create_app
        from facemotion.serving.protocol import uvicorn_options
        from facemotion.serving.recognizers import build_recognizer
        from facemotion.serving.settings import ServeSettings
    except ImportError as exc:
        fail(f"serve needs the serve extra ({exc.name} is missing): pip install 'facemotion[serve]'")
    with exit_on_error():
        max_upload = None if max_upload_mb is None else int(max_upload_mb * 2**20)
        settings = ServeSettings.from_env(
            workers=workers, max_queue=max_queue, api_key=api_key, cors_origins=tuple(cors) if cors else None,
            max_upload_bytes=max_upload, max_pixels=max_pixels, timeout_s=timeout, model=model, detector=detector,
            detector_model=None if detector_model is None else str(detector_model))
        recognizer = build_recognizer(settings)
    typer.echo(f"facemotion: {recognizer!r}; {settings.workers} workers, {settings.capacity} requests at most"
               f"{', API key required' if settings.api_key else ''}", err=True)
    app = create_app(recognizer, settings=settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, **uvicorn_options(settings))


app.command("serve", help=SERVE_HELP)(serve)
