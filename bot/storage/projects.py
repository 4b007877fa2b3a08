"""SQL for project-choice announcements: learners, current choices with history, and the board's matching counts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from bot.projects import (
    ROSTER_NAMES,
    TRACKS,
    Announcement,
    AnnouncementDraft,
    AnnounceOutcome,
    ExportRow,
    LearnerStatus,
    MatchStatus,
    ProjectMember,
    ProjectTotals,
    Roster,
    Track,
    in_line,
    same_choice,
)
from bot.storage.db import Database, Session

# A learner counts as waiting when matching holds them in its pool for the project they announced, and as
# paired while they belong to a team that has not ended.
MEMBER_QUERY = (
    "SELECT a.user_id, l.display_name, a.project_key, a.project_name, a.track, a.created_at, l.left_at,"
    " (SELECT p.queued_at FROM match_pool p WHERE p.guild_id = a.guild_id AND p.user_id = a.user_id"
    "   AND p.project_key = a.project_key AND p.state = 'waiting') AS queued_at,"
    " EXISTS (SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id"
    "   WHERE m.guild_id = a.guild_id AND m.user_id = a.user_id AND m.left_at IS NULL AND t.ended_at IS NULL)"
    "   AS paired"
    " FROM announcements a JOIN learners l ON l.guild_id = a.guild_id AND l.user_id = a.user_id"
    " WHERE a.guild_id = ? AND a.ended_at IS NULL"
)

# The board rule, the one place it is written: a learner counts on the board while their announcement is current
# and they are still in the server; on their track, as paired while in a team that has not ended, and as waiting
# while matching holds them in its pool for the project they announced. Each project is named after its latest
# announcement by a learner still in the server. Counted on a read (BoardCache keeps the counts between writes),
# each count driven from the smallest set that decides it (CROSS JOIN fixes SQLite's join order; migrations 0060
# and 0101 make every probe index-only): every current announcement per track, less those of learners who left,
# then the paired and the waiting learners here on that project. A team that ends marks every member as left
# (`_leave_team`), so an active membership alone says "in a team that has not ended".
# Stale projects are recounted after a write, all of them at once: their counts are driven from those projects' own
# rows (the `ONE` variants), so a small project costs a fraction of a millisecond however large the cohort, and the
# four counts go in one statement (BOARD_COUNTS_SQL): a trip to the database thread costs about as much as counting
# a small project.
_BOARD_TRACKS_SQL = (
    "SELECT a.project_key, a.track, COUNT(*) AS n FROM announcements a INDEXED BY announcements_on_project"
    " WHERE a.guild_id = :guild AND a.ended_at IS NULL {project} {cohort} GROUP BY a.project_key, a.track"
)
_BOARD_GONE_SQL = (
    "SELECT a.project_key, a.track, COUNT(*) AS n FROM learners l INDEXED BY learners_gone"
    " CROSS JOIN announcements a INDEXED BY announcements_current_choice"
    " WHERE l.guild_id = :guild AND l.left_at IS NOT NULL"
    "  AND a.guild_id = l.guild_id AND a.user_id = l.user_id AND a.ended_at IS NULL {project} {cohort}"
    " GROUP BY a.project_key, a.track"
)
_BOARD_PAIRED_SQL = (
    "SELECT a.project_key, NULL AS track, COUNT(*) AS n FROM team_members m INDEXED BY team_members_active"
    " CROSS JOIN announcements a INDEXED BY announcements_current_choice"
    " CROSS JOIN learners l INDEXED BY learners_present"
    " WHERE m.guild_id = :guild AND m.left_at IS NULL"
    "  AND a.guild_id = m.guild_id AND a.user_id = m.user_id AND a.ended_at IS NULL {cohort}"
    "  AND l.guild_id = a.guild_id AND l.user_id = a.user_id AND l.left_at IS NULL"
    " GROUP BY a.project_key"
)
_BOARD_PAIRED_ONE_SQL = (
    "SELECT a.project_key, NULL AS track, COUNT(*) AS n FROM announcements a INDEXED BY announcements_on_project"
    " CROSS JOIN team_members m INDEXED BY team_members_active"
    " CROSS JOIN learners l INDEXED BY learners_present"
    " WHERE a.guild_id = :guild {project} AND a.ended_at IS NULL {cohort}"
    "  AND m.guild_id = a.guild_id AND m.user_id = a.user_id AND m.left_at IS NULL"
    "  AND l.guild_id = a.guild_id AND l.user_id = a.user_id AND l.left_at IS NULL"
    " GROUP BY a.project_key"
)
_BOARD_WAITING_SQL = (
    "SELECT a.project_key, NULL AS track, COUNT(*) AS n FROM match_pool p"
    " CROSS JOIN announcements a INDEXED BY announcements_current_choice"
    " CROSS JOIN learners l INDEXED BY learners_present"
    " WHERE p.guild_id = :guild AND p.state = 'waiting'"
    "  AND a.guild_id = p.guild_id AND a.user_id = p.user_id AND a.ended_at IS NULL AND a.project_key = p.project_key"
    "  {project} {cohort} AND l.guild_id = a.guild_id AND l.user_id = a.user_id AND l.left_at IS NULL"
    " GROUP BY a.project_key"
)
BOARD_LATEST_SQL = (
    "SELECT n.project_key, n.project_name, n.created_at FROM json_each(:keys) k JOIN announcements n ON n.id = ("
    "  SELECT x.id FROM announcements x JOIN learners l ON l.guild_id = x.guild_id AND l.user_id = x.user_id"
    "  WHERE x.guild_id = :guild AND x.project_key = k.value AND x.ended_at IS NULL AND l.left_at IS NULL"
    "  AND (:cohort IS NULL OR x.cohort_id = :cohort)"
    "  ORDER BY x.created_at DESC, x.id DESC LIMIT 1)"
)
_SOME_PROJECTS = "AND a.project_key IN (SELECT value FROM json_each(:projects))"
# A board is a cohort's (or, on a server with no cohort yet, the whole guild's): nothing is counted across cohorts.
_ONE_COHORT = "AND a.cohort_id = :cohort"


_BOARD_COUNTS = {
    "tracks": (_BOARD_TRACKS_SQL, _BOARD_TRACKS_SQL),
    "gone": (_BOARD_GONE_SQL, _BOARD_GONE_SQL),
    "paired": (_BOARD_PAIRED_SQL, _BOARD_PAIRED_ONE_SQL),
    "waiting": (_BOARD_WAITING_SQL, _BOARD_WAITING_SQL),
}


def _board_counts_sql(some_projects: bool, one_cohort: bool) -> str:
    """The four counts as one statement, each row named by its count: of every project, or (`some_projects`) of
    those in `:projects` (a JSON list); of the whole guild, or (`one_cohort`) of `:cohort`."""
    return " UNION ALL ".join(
        f"SELECT '{name}' AS count, * FROM ("  # noqa: S608 - constants
        + (one if some_projects else whole).format(
            project=_SOME_PROJECTS if some_projects else "", cohort=_ONE_COHORT if one_cohort else ""
        )
        + ")"
        for name, (whole, one) in _BOARD_COUNTS.items()
    )


# Keyed by (some projects?, one cohort?).
BOARD_COUNTS_SQL = {
    (some_projects, one_cohort): _board_counts_sql(some_projects, one_cohort)
    for some_projects in (False, True)
    for one_cohort in (False, True)
}
# `a.cohort_id IS COALESCE(?, a.cohort_id)`: one cohort's learners, or (None) the whole guild's.
_ON_TRACK_SQL = (
    MEMBER_QUERY + " AND a.project_key = ? AND a.track = ? AND a.cohort_id IS COALESCE(?, a.cohort_id)"
    " ORDER BY a.created_at, a.id LIMIT ?"
)
ROSTER_TRACKS_SQL = (
    "SELECT * FROM (" + _ON_TRACK_SQL + ") UNION ALL SELECT * FROM (" + _ON_TRACK_SQL + ")"  # noqa: S608 - constants
)
TRACK_COUNTS_SQL = (
    "SELECT track, COUNT(*) AS count FROM announcements INDEXED BY announcements_on_project"
    " WHERE guild_id = ? AND project_key = ? AND ended_at IS NULL AND cohort_id IS COALESCE(?, cohort_id)"
    " GROUP BY track"
)
# Driven from the pool's per-project index (migration 0053) in the order matching serves it: only the first
# learners waiting for this project are read, however many announced it. Left to itself SQLite walks the project's
# announcements instead and sorts (14-44 ms for the largest project at 50,000 learners against 0.3 ms).
ROSTER_LOOKING_SQL = (
    "SELECT a.user_id, l.display_name, a.project_key, a.project_name, a.track, a.created_at, l.left_at,"
    " p.queued_at, 0 AS paired"
    " FROM match_pool p INDEXED BY match_pool_by_project"
    " CROSS JOIN announcements a INDEXED BY announcements_current_choice ON a.guild_id = p.guild_id"
    "   AND a.user_id = p.user_id AND a.ended_at IS NULL AND a.project_key = p.project_key"
    " CROSS JOIN learners l ON l.guild_id = a.guild_id AND l.user_id = a.user_id AND l.left_at IS NULL"
    " WHERE p.guild_id = ? AND p.project_key = ? AND p.state = 'waiting' AND a.cohort_id IS COALESCE(?, a.cohort_id)"
    " ORDER BY p.queued_at, p.user_id LIMIT ?"
)


async def board_totals(
    conn: Session, guild_id: int, keys: Sequence[str] | None = None, *, cohort_id: int | None = None
) -> list[ProjectTotals]:
    """Each project's board counts (of these projects, if given; of one cohort, if given); projects nobody present
    is on are absent.

    Counted from the database every time: readers go through `current_board`, which keeps the counts.
    """
    params: dict[str, object] = {"guild": guild_id, "cohort": cohort_id}
    if keys is not None:
        params["projects"] = json.dumps(list(keys))
    rows: dict[str, list[sqlite3.Row]] = {name: [] for name in _BOARD_COUNTS}
    for row in await conn.fetchall(BOARD_COUNTS_SQL[keys is not None, cohort_id is not None], params):
        rows[row["count"]].append(row)
    tracks: dict[str, dict[str, int]] = {}
    for row in rows["tracks"]:
        tracks.setdefault(row["project_key"], {"frontend": 0, "backend": 0})[row["track"]] += row["n"]
    for row in rows["gone"]:
        tracks[row["project_key"]][row["track"]] -= row["n"]
    present = [project for project, count in tracks.items() if count["frontend"] + count["backend"] > 0]
    if not present:
        return []
    paired = {row["project_key"]: row["n"] for row in rows["paired"]}
    waiting = {row["project_key"]: row["n"] for row in rows["waiting"]}
    latest = await conn.fetchall(
        BOARD_LATEST_SQL, {"guild": guild_id, "cohort": cohort_id, "keys": json.dumps(present)}
    )
    return [
        ProjectTotals(
            key=row["project_key"],
            latest_name=row["project_name"],
            latest_at=datetime.fromisoformat(row["created_at"]),
            frontend=tracks[row["project_key"]]["frontend"],
            backend=tracks[row["project_key"]]["backend"],
            paired=paired.get(row["project_key"], 0),
            waiting=waiting.get(row["project_key"], 0),
        )
        for row in latest
    ]


async def current_board(
    conn: Session, guild_id: int, key: str | None = None, *, cohort_id: int | None = None
) -> list[ProjectTotals]:
    """The board's counts as `board_totals` gives them, kept by the database's BoardCache between writes."""
    return await conn.board.read(
        guild_id,
        lambda projects: board_totals(conn, guild_id, projects, cohort_id=cohort_id),
        key,
        cohort_id=cohort_id,
    )


# A learner counts on the board only on the project of their current choice, so a learner leaving or coming back
# names that project for the board (NULL: counted nowhere; `Database.execute(board=True)`), in the same statement.
MEMBER_LEFT_SQL = (
    "UPDATE learners SET left_at = ? WHERE guild_id = ? AND user_id = ? AND left_at IS NULL"
    " RETURNING guild_id, (SELECT c.project_key FROM announcements c WHERE c.guild_id = learners.guild_id"
    "  AND c.user_id = learners.user_id AND c.ended_at IS NULL) AS project_key"
)
MEMBER_REJOINED_SQL = (
    "UPDATE learners SET left_at = NULL WHERE guild_id = ? AND user_id = ? AND left_at IS NOT NULL"
    " RETURNING guild_id, (SELECT c.project_key FROM announcements c WHERE c.guild_id = learners.guild_id"
    "  AND c.user_id = learners.user_id AND c.ended_at IS NULL) AS project_key"
)


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _announcement(row: sqlite3.Row) -> Announcement:
    return Announcement(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        project_key=row["project_key"],
        project_name=row["project_name"],
        track=cast(Track, row["track"]),
        summary=row["summary"],
        repo_url=row["repo_url"],
        timezone=row["timezone"],
        late=bool(row["late"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        ended_at=_time(row["ended_at"]),
        end_reason=row["end_reason"],
        message_id=row["message_id"],
        posted_at=_time(row["posted_at"]),
        cohort_id=row["cohort_id"],
    )


def _member(row: sqlite3.Row) -> ProjectMember:
    queued_at = row["queued_at"]
    return ProjectMember(
        row["user_id"],
        row["display_name"],
        row["project_key"],
        row["project_name"],
        row["track"],
        datetime.fromisoformat(row["created_at"]),
        row["left_at"] is not None,
        queued_at is not None,
        bool(row["paired"]),
        None if queued_at is None else datetime.fromisoformat(queued_at),
    )


class ProjectsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def current(self, guild_id: int, user_id: int) -> Announcement | None:
        row = await self.db.fetchone(
            "SELECT a.* FROM announcements a WHERE a.guild_id = ? AND a.user_id = ? AND a.ended_at IS NULL",
            (guild_id, user_id),
        )
        return None if row is None else _announcement(row)

    async def get(self, announcement_id: int) -> Announcement | None:
        row = await self.db.fetchone("SELECT a.* FROM announcements a WHERE a.id = ?", (announcement_id,))
        return None if row is None else _announcement(row)

    async def announce(self, draft: AnnouncementDraft, *, display_name: str, now: datetime) -> AnnounceOutcome:
        """Upsert the learner, end the current choice as 'replaced' and record the new one, in one transaction."""

        async def body(conn: Session) -> AnnounceOutcome:
            await conn.execute(
                "INSERT INTO learners (guild_id, user_id, display_name, first_seen_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (guild_id, user_id) DO UPDATE SET display_name = excluded.display_name, left_at = NULL",
                (draft.guild_id, draft.user_id, display_name, now.isoformat()),
            )
            rows = await conn.fetchall(
                "SELECT a.* FROM announcements a WHERE a.guild_id = ? AND a.user_id = ? AND a.ended_at IS NULL",
                (draft.guild_id, draft.user_id),
            )
            previous = _announcement(rows[0]) if rows else None
            # The upsert may have brought back a learner who had left (left_at), so the previous project counts
            # again even when the choice is the same.
            conn.board_changed(draft.guild_id, [draft.project_key, None if previous is None else previous.project_key])
            if previous is not None and same_choice(draft, previous):
                return AnnounceOutcome(previous, previous, changed=False)
            if previous is not None:
                await conn.execute(
                    "UPDATE announcements SET ended_at = ?, end_reason = 'replaced' WHERE id = ?",
                    (now.isoformat(), previous.id),
                )
            inserted = await conn.fetchall(
                "INSERT INTO announcements (guild_id, user_id, project_key, project_name, track, summary, repo_url,"
                " timezone, late, created_at, cohort_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?,"
                # Written without a cohort (the cog found none for the learner): the live cohort they were in, else
                # the guild's only live cohort, else its first (a single-cohort server, whatever its state).
                "  (SELECT a.cohort_id FROM announcements a JOIN cohorts c ON c.id = a.cohort_id"
                "   WHERE a.guild_id = ?1 AND a.user_id = ?2 AND c.closed_at IS NULL ORDER BY a.id DESC LIMIT 1),"
                "  (SELECT MIN(c.id) FROM cohorts c WHERE c.guild_id = ?1 AND c.closed_at IS NULL HAVING COUNT(*) = 1),"
                "  (SELECT MIN(c.id) FROM cohorts c WHERE c.guild_id = ?1)))"
                " RETURNING *",
                (
                    draft.guild_id,
                    draft.user_id,
                    draft.project_key,
                    draft.project_name,
                    draft.track,
                    draft.summary,
                    draft.repo_url,
                    draft.timezone,
                    int(draft.late),
                    now.isoformat(),
                    draft.cohort_id,
                ),
            )
            return AnnounceOutcome(_announcement(inserted[0]), previous, changed=True)

        return await self.db.transact(body)

    async def withdraw(self, guild_id: int, user_id: int, *, now: datetime) -> Announcement | None:
        """End the current choice as 'withdrawn'; the row stays for history. None if there was nothing to end."""

        rows = await self.db.execute(
            "UPDATE announcements SET ended_at = ?, end_reason = 'withdrawn'"
            " WHERE guild_id = ? AND user_id = ? AND ended_at IS NULL"
            " RETURNING *",
            (now.isoformat(), guild_id, user_id),
            board=True,
        )
        return _announcement(rows[0]) if rows else None

    async def mark_posted(self, announcement_id: int, message_id: int, *, now: datetime) -> None:
        await self.db.execute(
            "UPDATE announcements SET message_id = ?, posted_at = ? WHERE id = ?",
            (message_id, now.isoformat(), announcement_id),
        )

    async def unposted(self, guild_id: int, *, cohort_id: int | None = None) -> list[Announcement]:
        """Current choices not yet in the channel (of one cohort, if given), oldest first (channel missing or the post
        failed)."""
        rows = await self.db.fetchall(
            "SELECT a.* FROM announcements a"
            " WHERE a.guild_id = ? AND a.ended_at IS NULL AND a.message_id IS NULL"
            " AND a.cohort_id IS COALESCE(?, a.cohort_id) ORDER BY a.created_at, a.id",
            (guild_id, cohort_id),
        )
        return [_announcement(row) for row in rows]

    async def board_totals(self, guild_id: int, *, cohort_id: int | None = None) -> list[ProjectTotals]:
        """/projects: each project's counts (BOARD_SQL states the rule), of one cohort or (None) the whole guild."""
        return await self.db.query(lambda conn: current_board(conn, guild_id, cohort_id=cohort_id))

    async def board_total(self, guild_id: int, key: str, *, cohort_id: int | None = None) -> ProjectTotals | None:
        """One project's counts (None: nobody present is on it)."""
        found = await self.db.query(lambda conn: current_board(conn, guild_id, key, cohort_id=cohort_id))
        return found[0] if found else None

    async def roster(
        self, guild_id: int, key: str, limit: int = ROSTER_NAMES, *, cohort_id: int | None = None
    ) -> Roster:
        """/project: the first `limit` learners of each list and the size of every list, in one snapshot."""

        async def body(conn: Session) -> Roster:
            # Both tracks in each statement: a command pays for every statement it starts on a cold cache.
            totals = await current_board(conn, guild_id, key, cohort_id=cohort_id)
            both_tracks = (guild_id, key, "frontend", cohort_id, limit, guild_id, key, "backend", cohort_id, limit)
            on_track: dict[Track, list[ProjectMember]] = {track: [] for track in TRACKS}
            for row in await conn.fetchall(ROSTER_TRACKS_SQL, both_tracks):
                on_track[row["track"]].append(_member(row))
            counts: dict[Track, int] = {track: 0 for track in TRACKS}
            for row in await conn.fetchall(TRACK_COUNTS_SQL, (guild_id, key, cohort_id)):
                counts[row["track"]] = row["count"]
            looking = [
                _member(row) for row in await conn.fetchall(ROSTER_LOOKING_SQL, (guild_id, key, cohort_id, limit))
            ]
            return Roster(
                totals=totals[0] if totals else None,
                on_track={track: tuple(members) for track, members in on_track.items()},
                on_track_count=counts,
                looking=tuple(sorted(looking, key=in_line)[:limit]),
            )

        return await self.db.query(body)

    async def custom_projects(self, guild_id: int) -> dict[str, str]:
        """Custom project keys in current use, in the order they first appeared, each with its latest typed name."""
        # /announce and every keystroke of its autocomplete ask, and a cohort can hold thousands of announcements
        # of custom projects: the keys are walked one index seek at a time (SQLite has no skip scan), and ids grow
        # with time, so MIN/MAX(id) of a key are its first and latest announcement (migration 0053's index).
        rows = await self.db.fetchall(
            "WITH RECURSIVE keys (key) AS ("
            "  SELECT MIN(project_key) FROM announcements WHERE guild_id = :guild AND ended_at IS NULL"
            "   AND project_key >= 'custom:' AND project_key < 'custom;'"
            "  UNION ALL SELECT (SELECT MIN(project_key) FROM announcements WHERE guild_id = :guild"
            "   AND ended_at IS NULL AND project_key > keys.key AND project_key < 'custom;')"
            "  FROM keys WHERE keys.key IS NOT NULL)"
            " SELECT keys.key AS project_key, latest.project_name FROM keys"
            " JOIN announcements latest ON latest.id = (SELECT MAX(id) FROM announcements"
            "   WHERE guild_id = :guild AND project_key = keys.key AND ended_at IS NULL)"
            " WHERE keys.key IS NOT NULL"
            " ORDER BY (SELECT MIN(id) FROM announcements WHERE guild_id = :guild AND project_key = keys.key"
            "   AND ended_at IS NULL)",
            {"guild": guild_id},
        )
        return {row["project_key"]: row["project_name"] for row in rows}

    async def learners_here(self, guild_id: int) -> set[int]:
        """Everyone Nexus knows in the server and has not seen leave: what start-up compares with the member list."""
        rows = await self.db.fetchall(
            "SELECT user_id FROM learners WHERE guild_id = ? AND left_at IS NULL", (guild_id,)
        )
        return {row["user_id"] for row in rows}

    async def member_left(self, guild_id: int, user_id: int, *, now: datetime) -> bool:
        """Keep the record, mark the learner as gone. False if Nexus never knew them."""
        rows = await self.db.execute(
            MEMBER_LEFT_SQL,
            (now.isoformat(), guild_id, user_id),
            board=True,
        )
        return bool(rows)

    async def member_rejoined(self, guild_id: int, user_id: int) -> bool:
        # Every member who joins asks: one statement, one trip to the database thread.
        rows = await self.db.execute(
            MEMBER_REJOINED_SQL,
            (guild_id, user_id),
            board=True,
        )
        return bool(rows)

    async def export_rows(self, guild_id: int, *, history: bool, cohort_id: int | None = None) -> list[ExportRow]:
        """Current choices, or every choice ever made (history), oldest first; of one cohort, if given."""
        rows = await self.db.fetchall(
            "SELECT a.*, l.display_name, l.left_at FROM announcements a"
            " JOIN learners l ON l.guild_id = a.guild_id AND l.user_id = a.user_id"
            " WHERE a.guild_id = ? AND (? OR a.ended_at IS NULL) AND a.cohort_id IS COALESCE(?, a.cohort_id)"
            " ORDER BY a.created_at, a.id",
            (guild_id, int(history), cohort_id),
        )
        return [ExportRow(_announcement(row), row["display_name"], row["left_at"] is not None) for row in rows]

    async def status(self, guild_id: int, user_id: int) -> LearnerStatus:
        """/me: the current choice, the matching state (team > proposal > pool) and the reminder preference."""

        async def body(conn: Session) -> LearnerStatus:
            learner = await conn.fetchone(
                "SELECT reminders_opt_out, left_at FROM learners WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id),
            )
            current = await conn.fetchone(
                "SELECT a.* FROM announcements a WHERE a.guild_id = ? AND a.user_id = ? AND a.ended_at IS NULL",
                (guild_id, user_id),
            )
            return LearnerStatus(
                announcement=None if current is None else _announcement(current),
                match=await _match_status(conn, guild_id, user_id),
                reminders_opt_out=bool(learner["reminders_opt_out"]) if learner else False,
                left=learner is not None and learner["left_at"] is not None,
            )

        return await self.db.query(body)


async def _match_status(conn: Session, guild_id: int, user_id: int) -> MatchStatus:
    team = await conn.fetchone(
        "SELECT m.team_id, m.joined_at, t.thread_id FROM team_members m JOIN teams t ON t.id = m.team_id"
        " WHERE m.guild_id = ? AND m.user_id = ? AND m.left_at IS NULL AND t.ended_at IS NULL",
        (guild_id, user_id),
    )
    if team is not None:
        partners = await conn.fetchall(
            "SELECT user_id FROM team_members WHERE team_id = ? AND user_id != ? AND left_at IS NULL"
            " ORDER BY joined_at, user_id",
            (team["team_id"], user_id),
        )
        return MatchStatus(
            state="partnered",
            since=_time(team["joined_at"]),
            partner_ids=tuple(row["user_id"] for row in partners),
            thread_id=team["thread_id"],
        )
    proposal = await conn.fetchone(
        "SELECT frontend_id, backend_id, created_at, expires_at FROM proposals"
        " WHERE guild_id = ? AND state = 'pending' AND (frontend_id = ? OR backend_id = ?)",
        (guild_id, user_id, user_id),
    )
    if proposal is not None:
        partner = proposal["backend_id"] if proposal["frontend_id"] == user_id else proposal["frontend_id"]
        return MatchStatus(
            state="proposed",
            since=_time(proposal["created_at"]),
            partner_ids=(partner,),
            expires_at=_time(proposal["expires_at"]),
        )
    pool = await conn.fetchone(
        "SELECT queued_at FROM match_pool WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    if pool is not None:
        return MatchStatus(state="waiting", since=_time(pool["queued_at"]))
    return MatchStatus()
