"""No ORM variant for Crax: its ORM (crax.database, built on SQLAlchemy 1.x Core + `databases`) does not work
with SQLAlchemy 2, so lab.yml declares db_modes: [raw] and app.py refuses LAB_DB_MODE=orm.

The file exists so that every app has the same layout.
"""
