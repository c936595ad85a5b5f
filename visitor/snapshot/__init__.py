"""The published snapshot: every public page, feed and API body rendered once per
change, stored on disk and in Redis, and served without touching the database.

``artifacts`` lists the public paths, ``render`` calls their views, ``store`` keeps
the bytes and their manifest, ``serve`` answers requests from it, ``publish`` ties
them together after each change, and ``export`` writes a folder for a static host.
"""
