"""Discord glue: one cog per feature (knowledge, projects, matching, reminders, admin)."""
