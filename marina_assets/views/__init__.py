"""The analytic views (the legacy 21, by name) and the calendar they rely on.

`catalog.py` declares the views as data, `sql/` holds their hand-written SQL, `render.py`
fills the few dialect tokens, `calendar.py` builds DW_CALENDAR, `deploy.py` creates views on a
warehouse and `assets.py` turns all of it into Dagster assets.
"""
