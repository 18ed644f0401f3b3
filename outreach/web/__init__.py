"""The officers' web console: a second face over the same actions as the command line.

Server-rendered pages (Jinja2, autoescape on) over a Starlette app; ``routes/`` holds one
module per page, each declaring the permission it needs; ``session.py`` the signed
cookie and CSRF tokens; ``i18n.py`` the language of a request (its words come from the one
catalogue of ``outreach.i18n``). No SQL and no rule lives here: a page parses a form, calls an
action and shows what it returns.
"""
