"""SQL for partner matching: the pool, proposals, teams, pair blocks, deliveries and the staff log.

`_store` holds every matching read and write (each write one transaction built from the same private steps),
`_delivery` the records of what was sent and must still be sent, `_rows` the SQL and row mappers both share.
"""

from bot.storage.matching._rows import TEAM_COLUMNS, TEAM_MEMBERS_SQL, iso, teams_of
from bot.storage.matching._store import MatchingStore

__all__ = ["TEAM_COLUMNS", "TEAM_MEMBERS_SQL", "MatchingStore", "iso", "teams_of"]
