from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation


class JSONFallbackContentNegotiation(DefaultContentNegotiation):
    """Answer with the view's first renderer (JSON) when the client asks for another.

    An unknown `?format=` is ignored like any unknown query parameter, and an `Accept`
    header we cannot honour still gets JSON: that is all /api/ speaks. The schema view,
    which has several renderers, still picks YAML or JSON as asked.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except (Http404, NotAcceptable):
            renderer = renderers[0]
            return renderer, renderer.media_type
