"""Experiments: variants in events, exact people and successes per variant
(`profiles.py`), anytime-valid statistics (`stats.py`, pure), the report
(`report.py`) and the settings (`settings.py`)."""
