"""ORM database access for FastAPI: the SQLAlchemy 2 async layer shared by the asyncio apps.

It lives in apps/_common/db_sqlalchemy_async.py: nothing in it depends on the web framework.
"""

from db_sqlalchemy_async import (
    close_pool,
    fortunes,
    lookup,
    open_pool,
    random_world,
    random_worlds,
    update_worlds,
)

__all__ = ["close_pool", "fortunes", "lookup", "open_pool", "random_world", "random_worlds", "update_worlds"]
