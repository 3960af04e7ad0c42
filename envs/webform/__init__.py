"""The web-form family: MiniWoB++-style forms as element tables, faithful to Chromium.

``engine`` holds what actions do to elements, ``generator`` draws a form's level, ``layout`` its
page geometry, ``form`` is the ``Form`` env, ``html`` the export to real pages, ``browser`` the
replay of the same actions in headless Chromium, and ``miniwob`` MiniWoB++'s own pages (importer
and bridge).
"""
