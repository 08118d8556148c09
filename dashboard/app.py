"""The dashboard application factory: :func:`create_app` builds a configured Dash app.

Nothing happens at import time. The app serves only its own assets (GOV.UK Frontend CSS set in
Arial, Dash's bundles), requires HTTP Basic credentials on every route, sends strict security
headers and keeps each user's working data in a server-side store keyed by the user.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboard.auth import Credentials
from dashboard.services import AnalysisSettings

__all__ = ["AppContext", "DashboardConfig", "create_app", "default_data_dir"]

_INDEX = """<!DOCTYPE html>
<html lang="en-GB" class="govuk-template">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body class="govuk-template__body">
        {%app_entry%}
        {%config%}
        {%scripts%}
        {%renderer%}
    </body>
</html>
"""


def default_data_dir() -> Path:
    """Return where the dashboard keeps uploads, results and job state.

    ``PATHFINDER_DASHBOARD_DIR`` if set, else ``~/.cache/pathfinder-dashboard``.
    """
    env = os.environ.get("PATHFINDER_DASHBOARD_DIR", "").strip()
    return Path(env) if env else Path.home() / ".cache" / "pathfinder-dashboard"


@dataclass(frozen=True)
class DashboardConfig:
    """How the dashboard runs.

    Parameters
    ----------
    credentials
        Users allowed in (see :mod:`dashboard.auth`).
    data_dir
        Server-side store of uploads, cached results and background jobs.
    secret_key
        Signs sessions and CSRF tokens; give the same key to every worker process.
    max_upload_bytes
        Largest upload accepted (the server refuses bigger requests with 413).
    analysis
        Settings of the main analysis (estimator, inference, draws, seed).
    effects_reps
        Bootstrap or permutation draws on the Effects page.
    mc_draws
        Monte Carlo draws on the value-for-money page (``None``: the parameter set's).
    https
        Whether the app is served over HTTPS (secure cookies, HSTS).
    """

    credentials: Credentials
    data_dir: Path = field(default_factory=default_data_dir)
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    max_upload_bytes: int = 10 * 1024 * 1024
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    effects_reps: int = 199
    mc_draws: int | None = None
    https: bool = False


@dataclass(frozen=True)
class AppContext:
    """What pages and callbacks need: the configuration, the store and the default data."""

    config: DashboardConfig
    store: Any
    default: Any
    manager: Any

    def dataset(self, user: str) -> Any:
        """Return ``user``'s working data set."""
        return self.store.dataset(user, self.default)


def create_app(config: DashboardConfig) -> Any:
    """Build the dashboard for ``config`` and return the :class:`dash.Dash` app."""
    import dash
    import diskcache
    from dash import Input, Output, dcc, html

    from dashboard import components as c
    from dashboard import ids, pages
    from dashboard.auth import current_user, install_basic_auth
    from dashboard.jobs import JobManager, start_fork_server
    from dashboard.security import install_security
    from dashboard.services import bundled_dataset, load_frames
    from dashboard.store import UserStore

    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = UserStore(config.data_dir)
    manager = JobManager(diskcache.Cache(str(config.data_dir / "jobs")))
    start_fork_server()
    ctx = AppContext(config, store, bundled_dataset(store), manager)
    # read and check the bundled tables now, in the background, not in the first visitor's page
    threading.Thread(
        target=load_frames, args=(store, ctx.default.token), name="warm-frames", daemon=True
    ).start()

    app = dash.Dash(
        __name__,
        title="Pathfinder evaluation",
        update_title=None,  # type: ignore[arg-type]  # None: never retitle the tab
        assets_folder=str(Path(__file__).parent / "assets"),
        serve_locally=True,
        suppress_callback_exceptions=True,
        background_callback_manager=manager,
        compress=False,
        eager_loading=False,
    )
    app.index_string = _INDEX
    server = app.server
    server.secret_key = config.secret_key
    install_basic_auth(server, config.credentials)

    app.layout = html.Div(
        [
            html.A("Skip to main content", href=f"#{ids.MAIN}", className="govuk-skip-link"),
            dcc.Location(id=ids.LOCATION),
            dcc.Store(id=ids.DATASET),
            dcc.Store(id=ids.TITLE_SINK),
            html.Div(id=f"{ids.TITLE_SINK}-done", hidden=True),
            html.Header(
                html.Div(
                    [
                        html.Div(
                            html.Span("Pathfinder evaluation", className="pf-service-name"),
                            className="govuk-header__logo",
                        ),
                    ],
                    className="govuk-header__container govuk-width-container",
                ),
                className="govuk-header",
            ),
            html.Nav(
                html.Ul(id=ids.NAV, className="govuk-service-navigation__list"),
                className="govuk-service-navigation govuk-width-container",
                **c.aria(label="Pages"),
            ),
            html.Div(
                html.Main(
                    id=ids.MAIN,
                    className="govuk-main-wrapper",
                    tabIndex="-1",
                    children=html.Div(id=ids.PAGE),
                ),
                className="govuk-width-container",
            ),
            html.Footer(
                html.Div(
                    html.P(
                        "Pathfinder: an internal analysis tool. Data stay on this server.",
                        className="govuk-body-s",
                    ),
                    className="govuk-width-container",
                ),
                className="govuk-footer",
            ),
        ]
    )

    @app.callback(
        Output(ids.PAGE, "children"),
        Output(ids.NAV, "children"),
        Output(ids.DATASET, "data"),
        Output(ids.TITLE_SINK, "data"),
        Input(ids.LOCATION, "pathname"),
    )
    def _route(pathname: str | None) -> tuple[Any, Any, str, str]:
        page = pages.find(pathname or "/")
        user = current_user()
        dataset = ctx.dataset(user)
        # plain links (a full page load): dcc.Link cannot carry aria-current
        nav = [
            html.Li(
                html.A(
                    p.TITLE,
                    href=p.PATH,
                    className="govuk-service-navigation__link",
                    **(c.aria(current="page") if p is page else {}),
                ),
                className="govuk-service-navigation__item"
                + (" govuk-service-navigation__item--active" if p is page else ""),
            )
            for p in pages.PAGES
        ]
        if page is None:
            body = html.Div(
                [
                    html.H1("Page not found", className="govuk-heading-l"),
                    html.P(
                        [
                            "Choose a page from the menu, or go to the ",
                            dcc.Link("overview", href="/", className="govuk-link"),
                            ".",
                        ],
                        className="govuk-body",
                    ),
                ]
            )
            return body, nav, dataset.token, "Page not found - Pathfinder"
        return page.layout(ctx, dataset), nav, dataset.token, f"{page.TITLE} - Pathfinder"

    app.clientside_callback(
        "function(t){ if (t) { document.title = t; } return ''; }",
        Output(f"{ids.TITLE_SINK}-done", "children"),
        Input(ids.TITLE_SINK, "data"),
    )

    for page in pages.PAGES:
        page.register(app, ctx)

    install_security(
        server,
        script_hashes=app.csp_hashes(),
        max_upload_bytes=config.max_upload_bytes,
        https=config.https,
    )
    return app
