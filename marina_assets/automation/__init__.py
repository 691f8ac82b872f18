"""Automation: backup sensors, the fallback schedule, maintenance jobs, report email, alerts."""
