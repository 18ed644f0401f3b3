"""What an officer can do, once for every face: each action validates, writes, audits and
raises an ``OutreachError`` (nothing here prints); ``queries`` holds what the faces read."""
