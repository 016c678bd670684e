from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesWithModules(CompressedManifestStaticFilesStorage):
    """Hashed, compressed static files whose ES-module imports point at the hashed names too
    (the exam page is split into modules that import one another)."""

    support_js_module_import_aggregation = True
