"""Mastodon: the client (``client.py``), its requests and their failures (``api.py``,
``errors.py``) and the answer bodies (``parse.py``)."""
