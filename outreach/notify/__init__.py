"""Notifications: telling a person when something needs one.

An event (an emergency comment, a failed post, an account that needs re-authorisation, a
token about to expire, a stale daemon, the daily digest) becomes rows of the
``notifications`` outbox in the same transaction as the change that causes it: one row
per target that listens to the event, unique on (target, dedupe key), so an event that is
seen twice is stored once. The daemon's sender (and ``outreach watchdog`` for
``daemon_stale``) delivers the rows through apprise (WeCom, DingTalk, e-mail, Slack, Matrix,
``json://`` webhooks …) or a target's ``command``.

Delivery is claimed like a post: one conditional UPDATE sets ``sending``, the worker and a
lease, so two daemons never send the same row at the same time. Sent → ``sent``; a failure
is retried with backoff (``attempts``, ``next_attempt_at``, ``last_error``) and ends
``failed`` after ``MAX_ATTEMPTS``. The crash window: a worker that dies after the target
accepted a message but before it recorded ``sent`` leaves the row ``sending``; once the
lease expires another worker sends it again. Delivery is therefore at least once, with a
duplicate possible only in that window (the length of one send); every message carries
its notification id (``#12``) so a repeat is recognisable.

Emergencies escalate: the event's targets are listed in order; the first gets the row at
once, the next ``escalate_after_minutes`` later, and so on. A later row is cancelled when
the comment is acknowledged (``outreach opinions ack``) or answered before it is due.

Target URLs carry keys: they come from an environment variable or a 0600 file, never from
config.toml, and never reach output, logs, exceptions or the database (apprise's and
urllib3's log records pass through a filter that masks them).

The package's modules: ``outbox`` (writing events), ``digest`` (the daily digest's
figures), ``escalation`` (acknowledging, and why a later row is no longer needed),
``sender`` (claiming and delivering, with lease and backoff), ``transport`` (apprise or a
command; URLs masked), ``messages`` (titles and bodies), ``status`` (listing, retrying,
warnings) and ``watchdog`` (the daemon's job and the stale-daemon check).
"""

