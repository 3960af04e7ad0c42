"""The web-form family: MiniWoB++-style forms as element tables, faithful to Chromium.

``engine`` holds what actions do to elements, ``form`` the generator and the ``Form`` env, ``html``
the export to real pages and ``browser`` the replay of the same actions in headless Chromium.
"""
