"""Engagement and public-opinion reports: ``build.build_report`` reads the database into a
typed ``model.Report``; ``formats`` renders it; ``schema`` generates its JSON Schema."""
