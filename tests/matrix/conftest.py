"""Fixtures of the server matrix tests: one throwaway Postgres for the session, a log directory."""

from __future__ import annotations

from ..apps.server_fixtures import pg, server_logs

__all__ = ["pg", "server_logs"]
