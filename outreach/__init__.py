"""outreach: a public-safety outreach bot for Weibo-style microblogs."""

__version__ = "0.1.0"
