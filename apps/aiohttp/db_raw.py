"""Raw database access for aiohttp: the asyncpg layer shared by the asyncio apps.

It lives in apps/_common/db_asyncpg.py: nothing in it depends on the web framework.
"""

from db_asyncpg import close_pool, fortunes, lookup, open_pool, random_world, random_worlds, update_worlds

__all__ = ["close_pool", "fortunes", "lookup", "open_pool", "random_world", "random_worlds", "update_worlds"]
