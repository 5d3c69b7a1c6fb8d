"""Raw MySQL access for FastAPI: the asyncmy layer shared by the asyncio apps (LAB_DB_ENGINE=mysql).

It lives in apps/_common/db_asyncmy.py: nothing in it depends on the web framework.
"""

from db_asyncmy import close_pool, fortunes, lookup, open_pool, random_world, random_worlds, update_worlds

__all__ = ["close_pool", "fortunes", "lookup", "open_pool", "random_world", "random_worlds", "update_worlds"]
