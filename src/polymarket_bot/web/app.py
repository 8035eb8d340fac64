"""The monitor: FastAPI app over a reports directory (dashboard, JSON API, metrics, controls).

    app = create_app(Path("reports"), control_token=None)
    uvicorn.run(app, host="127.0.0.1", port=8888)

It reads files only; every read of them happens in a worker thread under `ReportsState.lock`, so
the event loop never blocks on disk. A background task keeps the aggregates warm (and finishes a
long catch-up without waiting for requests); each request also refreshes first, so answers are
never older than the files. Without the lifespan (e.g. httpx's ASGITransport) requests alone
drive the refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from anyio import to_thread
from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from polymarket_bot.observability.controls import (
    ControlAction,
    ControlState,
    ControlWriter,
    TokenCheck,
    check_token,
    presented_token,
)
from polymarket_bot.web.aggregates import ReportsState, json_bytes, parse_iso
from polymarket_bot.web.metrics import CONTENT_TYPE, make_registry, render
from polymarket_bot.web.panels import build_data
from polymarket_bot.web.schemas import (
    ControlResult,
    ControlsPanel,
    ControlStateModel,
    DataResponse,
    ErrorDetail,
    Health,
)

log = logging.getLogger(__name__)

STATIC_DIR = Path(str(resources.files("polymarket_bot.web") / "static"))
MAX_EXT_WINDOW = 1440
DISABLED_MESSAGE = (
    "Operator controls are disabled: no control token is configured. Set monitor.control_token "
    "in config/runtime.yaml or POLY_CONTROL_TOKEN in the environment, then restart the monitor."
)
MISSING_MESSAGE = (
    "A control token is required: send `Authorization: Bearer <token>` or `X-Control-Token`."
)
INVALID_MESSAGE = "The control token is not valid."

CONTROL_ROUTES: dict[str, tuple[ControlAction, str]] = {
    "pause": (ControlAction.PAUSE, "Pause entries: no new positions; exits and cancels go on."),
    "resume": (ControlAction.RESUME, "Resume entries (does not release the kill switch)."),
    "cancel-all": (ControlAction.CANCEL_ALL, "Cancel every open order once."),
    "kill-switch": (
        ControlAction.KILL_SWITCH,
        "Kill switch: cancel every open order and send no new order until released.",
    ),
    "kill-switch/release": (ControlAction.RELEASE_KILL_SWITCH, "Release the kill switch."),
}
CONTROL_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "Token missing or wrong."},
    403: {"model": ErrorDetail, "description": "Controls disabled (no token configured)."},
}


class Monitor:
    """What the routes share: the aggregates, the control file and the settings."""

    def __init__(
        self,
        reports_dir: Path,
        *,
        control_token: str | None,
        run_dir: Path,
        clock: Callable[[], float],
        stale_after: float,
        max_bytes_per_poll: int | None,
    ) -> None:
        kwargs = {} if max_bytes_per_poll is None else {"max_bytes_per_poll": max_bytes_per_poll}
        self.state = ReportsState(reports_dir, clock=clock, **kwargs)
        self.control_token = control_token or None
        self.controls = ControlWriter(run_dir)
        self.clock = clock
        self.stale_after = stale_after
        self.registry = make_registry(self.state, clock)
        self._control_key: tuple[int, int] | None = None
        self._control_state = ControlState()

    def control_state(self) -> ControlState:
        """control.json, re-read only when it changed."""
        try:
            st = os.stat(self.controls.path)
            key: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            key = None
        if key != self._control_key:
            self._control_key = key
            self._control_state = self.controls.read()
        return self._control_state

    def data(self, ext_window: int) -> bytes:
        self.state.refresh()
        with self.state.lock:
            document = build_data(
                self.state,
                ext_window=ext_window,
                now=self.clock(),
                controls=self.control_state(),
                controls_enabled=self.control_token is not None,
                stale_after=self.stale_after,
            )
        return json_bytes(document)

    def controls_panel(self) -> dict[str, Any]:
        self.state.refresh()
        with self.state.lock:
            status = self.state.snapshot("pipeline_status") or {}
            applied = status.get("controls") if isinstance(status.get("controls"), dict) else None
        requested = self.control_state()
        revision = applied.get("control_revision") if applied else None
        return {
            "enabled": self.control_token is not None,
            "requested": requested.to_json(),
            "applied": applied,
            "pending": requested.revision > 0
            and (not isinstance(revision, int) or revision < requested.revision),
        }

    def metrics(self) -> bytes:
        self.state.refresh()
        return render(self.registry)

    def health(self) -> dict[str, Any]:
        self.state.refresh()
        with self.state.lock:
            status = self.state.snapshot("pipeline_status") or {}
            caught_up = self.state.caught_up
        updated = parse_iso(status.get("updated_at"))
        return {
            "status": "ok",
            "reports_dir": str(self.state.reports_dir),
            "reports_dir_exists": self.state.reports_dir.is_dir(),
            "catching_up": not caught_up,
            "status_age_seconds": None if updated is None else max(0.0, self.clock() - updated),
        }

    def authorize(self, authorization: str | None, x_control_token: str | None) -> None:
        result = check_token(self.control_token, presented_token(authorization, x_control_token))
        if result is TokenCheck.DISABLED:
            raise HTTPException(status_code=403, detail=DISABLED_MESSAGE)
        if result is not TokenCheck.OK:
            raise HTTPException(
                status_code=401,
                detail=MISSING_MESSAGE if result is TokenCheck.MISSING else INVALID_MESSAGE,
                headers={"WWW-Authenticate": "Bearer"},
            )


async def _poll_forever(monitor: Monitor, interval: float) -> None:
    while True:
        try:
            await to_thread.run_sync(monitor.state.refresh)
        except Exception:  # a bad file must not stop the monitor; the next poll retries
            log.exception("refreshing the reports failed")
        await asyncio.sleep(interval)


def create_app(
    reports_dir: Path,
    *,
    control_token: str | None,
    run_dir: Path | None = None,
    clock: Callable[[], float] = time.time,
    poll_interval: float = 1.0,
    stale_after_seconds: float = 120.0,
    max_bytes_per_poll: int | None = None,
) -> FastAPI:
    """The monitor app.

    run_dir: where control.json goes (default: `<reports_dir>/../run`, the settings' default).
    control_token: None or "" disables the control endpoints (403).
    poll_interval: seconds between background refreshes (when served with its lifespan).
    """
    reports_dir = Path(reports_dir)
    monitor = Monitor(
        reports_dir,
        control_token=control_token,
        run_dir=Path(run_dir) if run_dir is not None else reports_dir.parent / "run",
        clock=clock,
        stale_after=stale_after_seconds,
        max_bytes_per_poll=max_bytes_per_poll,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_poll_forever(monitor, poll_interval))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            monitor.state.close()

    app = FastAPI(
        title="Py-Polymarket monitor",
        version="1",
        summary="Dashboard, JSON API and Prometheus metrics over the trader's report files.",
        lifespan=lifespan,
    )
    app.state.monitor = monitor
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get(
        "/api/data",
        response_model=DataResponse,
        summary="Every panel's data and the raw pipeline_status.json sections",
    )
    async def api_data(
        ext_window: Annotated[
            int,
            Query(ge=1, le=MAX_EXT_WINDOW, description="External-fills trend window, minutes."),
        ] = 60,
    ) -> Response:
        body = await to_thread.run_sync(monitor.data, ext_window)
        return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})

    @app.get(
        "/api/controls", response_model=ControlsPanel, summary="Requested and applied controls"
    )
    async def api_controls() -> Response:
        body = json_bytes(await to_thread.run_sync(monitor.controls_panel))
        return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})

    for path, (action, doc) in CONTROL_ROUTES.items():
        _add_control_route(app, monitor, path, action, doc)

    @app.get(
        "/metrics",
        response_class=Response,
        summary="Prometheus exposition",
        responses={200: {"content": {"text/plain": {}}}},
    )
    async def metrics() -> Response:
        body = await to_thread.run_sync(monitor.metrics)
        return Response(body, media_type=CONTENT_TYPE)

    @app.get("/healthz", response_model=Health, summary="Liveness")
    async def healthz() -> JSONResponse:
        return JSONResponse(await to_thread.run_sync(monitor.health))

    return app


def _add_control_route(
    app: FastAPI, monitor: Monitor, path: str, action: ControlAction, doc: str
) -> None:
    async def control(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        x_control_token: Annotated[str | None, Header()] = None,
    ) -> ControlResult:
        monitor.authorize(authorization, x_control_token)
        client = request.client.host if request.client else "unknown"
        state = await to_thread.run_sync(
            lambda: monitor.controls.apply(action, now=monitor.clock(), client=client)
        )
        log.warning(
            "operator control %s requested by %s (revision %d)",
            action.value,
            client,
            state.revision,
        )
        return ControlResult(
            accepted=True,
            action=action.value,
            file=str(monitor.controls.path),
            state=ControlStateModel.model_validate(state.to_json()),
        )

    app.post(
        f"/api/controls/{path}",
        response_model=ControlResult,
        summary=doc,
        responses=CONTROL_ERRORS,
        name=f"control_{action.value}",
    )(control)
