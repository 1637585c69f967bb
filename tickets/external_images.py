"""A message's images from other sites: blocked unless the reader asks, for one view.

By default the ticket page points each external image at a placeholder
(`tickets.rendering.block_external_images`) and the Content-Security-Policy
refuses any other origin, so the sender's server learns nothing. "Show external
images" reloads the page with `?images=show`: the messages keep their addresses,
and that response alone allows images from any http(s) origin.

Why a relaxation of img-src and not an image proxy: a proxy would fetch from
addresses senders choose (private networks, slow servers holding our web
threads); the browser doing it for a person who asked keeps all of that off the
server. The sender then learns what they would from any mail client with
images shown: when, and from which address, the message was read.
"""

from __future__ import annotations

import functools

from helpdesk.security import csp_allow

PARAM = "images"
SHOW = "show"


def wanted(request) -> bool:
    """Whether the reader chose to see this view's external images."""
    return request.method == "GET" and request.GET.get(PARAM) == SHOW


def shows_external_images_on_request(view):
    """Let the page's response load images from other origins when the reader asked."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if wanted(request) and response.status_code == 200:
            # Scheme sources, never a host taken from a message: nothing a sender
            # writes reaches a response header.
            csp_allow(response, "img-src", "https:", "http:")
        return response

    return wrapper
