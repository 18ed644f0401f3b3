"""Sina Weibo: the client (``client.py``), one call and its answer (``api.py``,
``errors.py``, ``parse.py``), the hourly budget (``budget.py``) and OAuth (``oauth.py``)."""
