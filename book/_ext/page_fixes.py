"""Sphinx fix for the built pages: each inline script once.

Inline ``<script>`` bodies registered on ``env-before-read-docs`` (sphinx-thebe's configuration,
sphinx-togglebutton's selector) are added again when Jupyter Book reads the sources a second
time, and ``const THEBE_JS_URL`` declared twice is a JavaScript error on every page. This drops
repeated inline scripts from each page (files are de-duplicated by Sphinx itself).
"""


def _unique_scripts(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        body = getattr(script, "attributes", {}).get("body") if not isinstance(script, str) else None
        if body:
            if body in seen:
                continue
            seen.add(body)
        kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
