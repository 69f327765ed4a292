"""The SQLAlchemy 2.x backend of the database API."""
