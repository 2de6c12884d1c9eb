"""Serves Plotly's own browser bundle, as installed by pip, as a static file of the admin:
`tradebook/vendor/plotly.min.js`. No copy in the repository, no CDN, no Node: `collectstatic`
copies it like any other static file and WhiteNoise serves it."""

from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

PLOTLY_PATH = "tradebook/vendor/plotly.min.js"


def _bundle() -> Path | None:
    try:
        import plotly
    except ImportError:
        return None
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


class PlotlyFinder(BaseFinder):
    def check(self, **kwargs):
        if _bundle() is None:
            return [Error("plotly's plotly.min.js is missing: the admin's charts need it",
                          hint="pip install -r requirements.lock", id="tradebook.E001")]
        return []

    def find(self, path, find_all=False, **kwargs):
        find_all = find_all or kwargs.get("all", False)
        bundle = _bundle()
        if path != PLOTLY_PATH or bundle is None:
            return [] if find_all else None
        return [str(bundle)] if find_all else str(bundle)

    def list(self, ignore_patterns):
        bundle = _bundle()
        if bundle is not None:
            storage = FileSystemStorage(location=str(bundle.parent))
            storage.prefix = str(Path(PLOTLY_PATH).parent)
            yield bundle.name, storage
