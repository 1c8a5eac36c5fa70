"""Every browser endpoint: the pages, sign-in, page data and the admin page's own routes."""

from __future__ import annotations

from starlette.routing import BaseRoute

from hub.site import admin, certificates, pagedata, signin
from hub.site.pages import page_routes


def site_routes() -> list[BaseRoute]:
    return [*page_routes(), *signin.routes, *pagedata.routes, *admin.routes,
            *certificates.routes]
