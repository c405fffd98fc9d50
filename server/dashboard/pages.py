"""The dashboard's HTML pages: small shells whose JavaScript modules fetch JSON and draw.

Pages are plain ``string.Template`` files; everything substituted into them goes through
``html.escape`` (names only ever reach the browser as text). On a tracking server (tokens
required) a page without a valid session redirects to a sign-in form; signing in with a token
starts a server-side session (``auth.create_session``) whose random id is the HttpOnly cookie
the JSON endpoints accept. Signing out ends the session on the server.

Pages carry a Content-Security-Policy (scripts only from this server, no framing) and the
token's role as ``<body data-role>``: elements marked ``data-requires="write"`` or
``data-requires="admin"`` are hidden (dashboard.css) from a token that may not do that.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from string import Template
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trackboard.errors import NotFoundError

from ..auth import COOKIE, LOCAL, SESSION_TTL_S, Principal, authenticate, create_session, end_session, identify
from . import queries
from .assets import PLOTLY, module_graph, version
from .data import MAX_COMPARED

TEMPLATES = Path(__file__).parent / "templates"
# Scripts and styles from this server only (plotly sets inline styles), never inside a frame.
HTML_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=None)
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _viewer(request: Request) -> Principal | None:
    """Who is looking: LOCAL on `trackboard ui`, else the session's (or bearer token's) principal."""
    if not request.app.state.require_token:
        return LOCAL
    return identify(request.app.state.store, request.headers, request.cookies)


def _signed_in(request: Request) -> bool:
    return _viewer(request) is not None


def _visible(request: Request, project: dict) -> bool:
    viewer = _viewer(request)
    return viewer is not None and viewer.sees(project["name"])


def _to_signin(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/ui/signin?next={quote(target, safe='')}", status_code=303)


def _page(request: Request, page: str, title: str, *, id: str = "", plotly_first: bool = False,
          message: str = "Loading…", status_code: int = 200) -> HTMLResponse:
    """A page shell that runs ``static/js/pages/<page>.js`` (no script for the 404 page)."""
    esc = html.escape
    v = version()
    auth = "token" if request.app.state.require_token else "open"
    role = (_viewer(request) or LOCAL).role
    signout = (
        '<form method="post" action="/ui/signout"><button class="button ghost" type="submit">Sign out</button></form>'
        if auth == "token" else ""
    )
    script = f'<script type="module" src="/ui/static/{v}/js/pages/{esc(page)}.js"></script>' if page != "notfound" else ""
    # Every module of the page at once, not one level of imports after another. plotly.js (4.8 MB)
    # is preloaded only where the first screen needs it: line charts are sketched until it loads,
    # once the first screen is drawn (lib/plotly.js), and its download and background parse would
    # compete with the page's own.
    modules = module_graph(f"js/pages/{page}.js") if page != "notfound" else []
    preload = "\n".join([f'<link rel="modulepreload" href="/ui/static/{v}/{esc(path)}">' for path in modules]
                         + ([f'<link rel="preload" as="script" href="/ui/static/{v}/{PLOTLY}">'] if plotly_first else []))
    body = _template("page.html").substitute(
        title=esc(title), version=v, preload=preload, page=esc(page), id=esc(id), auth=auth, role=role, signout=signout,
        content=_error_content(title, message) if page == "notfound" else f'<p class="loading">{esc(message)}</p>',
        script=script,
    )
    return HTMLResponse(body, status_code=status_code, headers=HTML_HEADERS)


def _error_content(title: str, message: str) -> str:
    esc = html.escape
    return (f'<section class="card error-page"><h1>{esc(title)}</h1><p>{esc(message)}</p>'
            '<p><a class="button primary" href="/ui/">All projects</a></p></section>')


def _not_found(request: Request, what: str, status_code: int = 404) -> HTMLResponse:
    return _page(request, "notfound", "Not found" if status_code == 404 else "Cannot show this page",
                 message=what, status_code=status_code)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui")
@router.get("/ui/")
def projects_page(request: Request) -> Response:
    """All projects."""
    if not _signed_in(request):
        return _to_signin(request)
    return _page(request, "projects", "Projects")


@router.get("/ui/projects/{project_id}")
def project_page(request: Request, project_id: str) -> Response:
    """A project's experiments as a sortable, filterable table."""
    if not _signed_in(request):
        return _to_signin(request)
    project = _project(request, project_id)
    if project is None:
        return _not_found(request, "There is no such project.")
    return _page(request, "project", project["name"], id=project_id)


@router.get("/ui/projects/{project_id}/sweep")
def sweep_page(request: Request, project_id: str) -> Response:
    """Sweep views of a project's queried runs: parallel coordinates, scatter, parameter importance."""
    if not _signed_in(request):
        return _to_signin(request)
    project = _project(request, project_id)
    if project is None:
        return _not_found(request, "There is no such project.")
    return _page(request, "sweep", f"Sweep · {project['name']}", id=project_id, plotly_first=True)


def _project(request: Request, project_id: str) -> dict | None:
    """The project row, or None when there is none or the signed-in token may not see it."""
    try:
        project = request.app.state.store.get_project_by_id(project_id)
    except NotFoundError:
        return None
    return project if _visible(request, project) else None


@router.get("/ui/experiments/{experiment_id}")
def experiment_page(request: Request, experiment_id: str) -> Response:
    """One experiment: its values, one panel per log, live while it runs."""
    if not _signed_in(request):
        return _to_signin(request)
    try:
        experiment = request.app.state.store.get_experiment_by_id(experiment_id)
    except NotFoundError:
        return _not_found(request, "There is no such experiment.")
    if not _visible(request, request.app.state.store.get_project_by_id(experiment["project_id"])):
        return _not_found(request, "There is no such experiment.")
    return _page(request, "experiment", experiment["name"], id=experiment_id)


@router.get("/ui/compare")
def compare_page(request: Request, ids: str = "") -> Response:
    """Several experiments side by side (``?ids=a,b,c``)."""
    if not _signed_in(request):
        return _to_signin(request)
    chosen = list(dict.fromkeys(i for i in (part.strip() for part in ids.split(",")) if i))
    if len(chosen) > MAX_COMPARED:
        return _not_found(request, f"At most {MAX_COMPARED} experiments can be compared at once; this link names {len(chosen)}.",
                          status_code=400)
    if chosen and not queries.existing_experiments(request.app.state.store.engine, chosen):
        return _not_found(request, "None of these experiments exists (deleted, or a wrong link).")
    return _page(request, "compare", "Compare", id=",".join(chosen))


def not_found_page(request: Request, rest: str) -> Response:
    """Any other /ui/ address: a page that says so (JSON stays JSON under /ui/data and /ui/static)."""
    if rest.startswith(("data/", "static/")):
        raise HTTPException(status_code=404, detail="Not Found")
    if not _signed_in(request):
        return _to_signin(request)
    return _not_found(request, "There is no such page.")


# -- signing in (tracking server only) -----------------------------------------------------------


def _safe_next(target: str | None) -> str:
    # Only paths of this dashboard: an open redirect to another site must not be possible.
    if not target or not target.startswith("/ui") or target.startswith("//") or "\\" in target:
        return "/ui/"
    return target


def _signin_form(next_path: str, error: str = "", status_code: int = 200) -> HTMLResponse:
    body = _template("signin.html").substitute(
        version=version(), next=html.escape(_safe_next(next_path)), error=html.escape(error)
    )
    return HTMLResponse(body, status_code=status_code, headers=HTML_HEADERS)


@router.get("/ui/signin")
def signin_form(request: Request, next: str = "/ui/") -> Response:
    if not request.app.state.require_token:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _signin_form(next)


@router.post("/ui/signin")
async def signin(request: Request) -> Response:
    """Check the token and start a session (the form is parsed by hand: no python-multipart needed).

    The guard caps this body at a few KiB (``guard.SMALL_FORM_BYTES``) and refuses other origins."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    next_path = _safe_next((form.get("next") or ["/ui/"])[0])
    if not request.app.state.require_token:
        return RedirectResponse(next_path, status_code=303)
    store = request.app.state.store
    principal = authenticate(store, token) if token else None
    if principal is None:
        return _signin_form(next_path, "That token is not valid (or has expired or been revoked).", status_code=401)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE, create_session(store, principal), max_age=SESSION_TTL_S, httponly=True, samesite="lax",
        secure=request.url.scheme == "https", path="/",
    )
    return response


@router.post("/ui/signout")
def signout(request: Request) -> Response:
    """End the session on the server (a copied cookie stops working too) and drop the cookie."""
    session_id = request.cookies.get(COOKIE)
    if session_id and request.app.state.require_token:
        end_session(request.app.state.store, session_id)
    response = RedirectResponse("/ui/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
