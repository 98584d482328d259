"""Chromium pages answered in-process by a Flask test client (Playwright's request routing): no server and no
worker, and the test's signed-in teacher is the browser's session. For tests of one page's layout or script."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

FORWARDED = ("content-type", "accept")


def forward_to(
    client: Any,
    *,
    posts: list[str] | None = None,
    post_client: Callable[[], Any] | None = None,
    follow_post_redirects: bool = False,
) -> Callable[[Any], None]:
    """A route handler answering each request with `client`: a POST with `post_client()` where given (a test can
    sign the browser out mid-way), its path appended to `posts`; `follow_post_redirects` does what fetch does with a
    redirect (Chromium does not follow a routed one)."""

    def forward(route: Any) -> None:
        request = route.request
        url = urlsplit(request.url)
        post = request.method == "POST"
        if post and posts is not None:
            posts.append(url.path)
        answering = post_client() if post and post_client is not None else client
        response = answering.open(
            url.path + (f"?{url.query}" if url.query else ""),
            method=request.method,
            data=request.post_data_buffer,
            headers={k: v for k, v in request.headers.items() if k.lower() in FORWARDED},
            follow_redirects=post and follow_post_redirects,
        )
        route.fulfill(status=response.status_code, headers=dict(response.headers), body=response.get_data())

    return forward


def in_process_context(
    chromium: Any, client: Any, origin: str, *, posts: list[str] | None = None, **options: Any
) -> Any:
    """A browser context whose every request to `origin` is answered by `client` (new_context's `options`)."""
    context = chromium.new_context(base_url=origin, **options)
    context.route(f"{origin}/**", forward_to(client, posts=posts))
    return context
