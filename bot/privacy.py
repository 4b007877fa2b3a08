"""Data rights: what forgetting a learner removes in one guild, counted for their confirmation and the log."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Forgotten:
    """Counts of a learner's data in one guild: found (before Confirm) or removed (after)."""

    announcements: int = 0
    pool_entries: int = 0
    proposals: int = 0
    team_memberships: int = 0
    pair_blocks: int = 0
    reminder_deliveries: int = 0
    learner: int = 0
    # Public announcement posts to take down from the channel; not counted, never logged.
    post_ids: tuple[int, ...] = field(default=(), compare=False)

    @property
    def total(self) -> int:
        return (
            self.announcements
            + self.pool_entries
            + self.proposals
            + self.team_memberships
            + self.pair_blocks
            + self.reminder_deliveries
            + self.learner
        )

    def counts(self) -> dict[str, int]:
        return {
            "announcements": self.announcements,
            "pool entries": self.pool_entries,
            "proposals": self.proposals,
            "team memberships (anonymised)": self.team_memberships,
            "pair blocks": self.pair_blocks,
            "reminder deliveries": self.reminder_deliveries,
            "learner record": self.learner,
        }

    def describe(self) -> str:
        """'2 announcements, 1 pool entries, …' with the zero counts left out."""
        parts = [f"{count} {name}" for name, count in self.counts().items() if count]
        return ", ".join(parts) if parts else "nothing"
